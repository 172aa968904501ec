import { ValidationError } from '../errors.js';
import { validReason } from '../validation.js';
import type { ImportField } from './headers.js';
import type { ImportType, RowError } from './rows.js';

export type ImportMode = 'partial' | 'atomic';

/** An import as a caller asks for it (the query of POST /v1/imports, the flags of `tally import`). */
export interface ImportRequest {
  type: string;
  reason?: string;
  dryRun?: boolean;
  mode?: string;
}

/** An import after validation: what the job stores. */
export interface ImportPlan {
  type: ImportType;
  mode: ImportMode;
  /** The reason of rows whose file gives none. */
  reason: string;
  /** The file's header for each field it has, so SQL-found errors name the column as the file does. */
  columns: Partial<Record<ImportField, string>>;
}

/**
 * What a dry run answers. `totalPoints` is the net change of balances over the valid rows, as the
 * job's `totalPoints` will be; `pendingPoints` the points of valid rows that become pending
 * credits (availableAt in the future): in no balance, and no tier move, until they mature.
 */
export interface ImportPreview {
  rows: number;
  valid: number;
  invalid: number;
  totalPoints: number;
  pendingPoints: number;
  tierUps: number;
  tierDowns: number;
  errors: RowError[];
}

export const DEFAULT_IMPORT_REASON = 'CSV import';
export const PREVIEW_ERRORS = 100;

/** It can throw: ValidationError. */
export function planImport(req: ImportRequest): Omit<ImportPlan, 'columns'> {
  if (req.type !== 'add' && req.type !== 'set' && req.type !== 'history') throw new ValidationError('type must be add, set or history', 'type');
  const mode = req.mode ?? 'partial';
  if (mode !== 'partial' && mode !== 'atomic') throw new ValidationError('mode must be partial or atomic', 'mode');
  // A form's empty reason field means "none given".
  const reason = req.reason === undefined || req.reason.trim() === '' ? DEFAULT_IMPORT_REASON : validReason(req.reason);
  return { type: req.type, mode, reason };
}
