// Numbers and dates in the browser's locale.
const number = new Intl.NumberFormat(undefined);
const signed = new Intl.NumberFormat(undefined, { signDisplay: 'exceptZero' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const fmtNumber = (n: number | null | undefined) => (n == null ? '—' : number.format(n));
export const fmtSigned = (n: number) => signed.format(n);
export const fmtDate = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '—');
/** The day alone, for dense tables. */
export const fmtDay = (iso: string | null | undefined) => (iso ? dateOnly.format(new Date(iso)) : '—');
