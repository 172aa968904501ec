import { ValidationError } from '../domain/errors.js';
import type { PageRequest } from '../domain/types.js';
import { decodeCursor } from '../ledger/paging.js';

export function pageRequest(limit: number, cursor: string | undefined): PageRequest {
  if (cursor === undefined || cursor === '') return { limit };
  const beforeId = decodeCursor(cursor);
  if (beforeId === undefined) throw new ValidationError('cursor is not one this API returned', 'cursor');
  return { limit, beforeId };
}
