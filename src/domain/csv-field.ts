import { escapeCsvCell } from './csv-cell.js';

/**
 * One CSV field as RFC 4180 writes it, byte for byte what csv-stringify writes with its defaults
 * (the exports wrote through it before, and a file read back by an import must not change): a
 * text holding a comma, a double quote, CR or LF is quoted, its quotes doubled; anything else,
 * the empty text too, goes as it is. Formula safety is another rule (escapeCsvCell), applied first.
 *
 * @example csvField('Said "hi", then left') // '"Said ""hi"", then left"'
 */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** A record's fields as one CSV line, LF-terminated (csv-stringify's default record delimiter). */
export function csvLine(fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) line += i === 0 ? csvField(fields[i]) : `,${csvField(fields[i])}`;
  return `${line}\n`;
}

/** A free text cell of an export: formula-safe (escapeCsvCell), then quoted as CSV needs; null is empty. */
export function csvTextField(value: string | null): string {
  return value === null ? '' : csvField(escapeCsvCell(value));
}
