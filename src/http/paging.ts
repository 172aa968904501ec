import { ValidationError } from '../domain/errors.js';
import type { CustomerSort, PageRequest, SortedPageRequest } from '../domain/types.js';
import { decodeCursor, decodeSortedCursor } from '../ledger/paging.js';

export function pageRequest(limit: number, cursor: string | undefined): PageRequest {
  if (cursor === undefined || cursor === '') return { limit };
  const beforeId = decodeCursor(cursor);
  if (beforeId === undefined) throw new ValidationError('cursor is not one this API returned', 'cursor');
  return { limit, beforeId };
}

/** A customer list's page: newest first (the default) by id, any other order by its sort value. */
export function customerPageRequest(limit: number, cursor: string | undefined, sort: CustomerSort): PageRequest | SortedPageRequest {
  if (sort.by === 'createdAt' && sort.order === 'desc') return pageRequest(limit, cursor);
  if (cursor === undefined || cursor === '') return { limit, sort };
  const after = decodeSortedCursor(cursor, sort);
  if (after === undefined) throw new ValidationError('cursor is not one this API returned for this sort order', 'cursor');
  return { limit, sort, after };
}
