import type { Page } from '../domain/types.js';

/** Cursors are opaque to clients; inside they are the last id of the page. */
export function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

/** Returns undefined for a cursor that is not one of ours (the caller reports it). */
export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString();
  const m = /^id:(\d{1,16})$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Given limit+1 rows, the page of `limit` and the cursor to the next one. */
export function pageOf<T extends { id: number }>(rows: T[], limit: number): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more ? encodeCursor(data[data.length - 1].id) : null };
}
