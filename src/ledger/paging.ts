import type { CustomerSort, Page, SortedPageRequest } from '../domain/types.js';

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

/** A sorted list's cursor: the sort and the last row's sort value and id, opaque to clients. */
export function encodeSortedCursor(sort: CustomerSort, value: string | number | null, id: number): string {
  return Buffer.from(JSON.stringify(['sorted', sort.by, sort.order, value, id])).toString('base64url');
}

/** The row a sorted page starts after; undefined for a cursor that is not one of ours for this sort. */
export function decodeSortedCursor(cursor: string, sort: CustomerSort): SortedPageRequest['after'] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (!Array.isArray(v) || v.length !== 5 || v[0] !== 'sorted' || v[1] !== sort.by || v[2] !== sort.order) return undefined;
    const [, , , value, id] = v as unknown[];
    if (!Number.isSafeInteger(id) || (id as number) < 1) return undefined;
    if (value !== null && typeof value !== 'string' && !Number.isSafeInteger(value)) return undefined;
    return { value: value as string | number | null, id: id as number };
  } catch {
    return undefined;
  }
}

/** Given up to limit+1 rows with their sort values, the page of `limit` and the cursor to the next one. */
export function sortedPageOf<T extends { id: number }>(rows: { item: T; sortValue: string | number | null }[], page: SortedPageRequest): Page<T> {
  const more = rows.length > page.limit;
  const data = rows.slice(0, page.limit);
  const last = data[data.length - 1];
  return { data: data.map((r) => r.item), nextCursor: more ? encodeSortedCursor(page.sort, last.sortValue, last.item.id) : null };
}
