/**
 * The quote-free fast path of reading an upload: while the bytes hold no `"`, a record is a line
 * (CR, LF and CRLF all end one) and its fields are the line split on the delimiter — exactly what
 * csv-parse makes of such text, at a fraction of its cost. Anything this cannot prove it reads
 * the same way (a quote, a record that might pass the size limit) is left to csv-parse.
 */

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * Where the run of whole quote-free records that starts at `start` ends (after its last record
 * delimiter; `start` when there is none), taking at most about `maxBytes`: no record in the run
 * is longer than `maxBytes` bytes, so none can trip csv-parse's max_record_size (it counts the
 * record's characters before its current field's bytes, never more than the record's bytes).
 * Unless `final`, a CR ending the buffer is not yet a record's end: an LF may follow it.
 *
 * @example quoteFreeEnd(Buffer.from('a,1\nb,2\nc'), 0, false, 1024) // 8: "c" may go on
 */
export function quoteFreeEnd(buf: Buffer, start: number, final: boolean, maxBytes: number): number {
  const window = buf.subarray(start, Math.min(buf.length, start + maxBytes + 1));
  const quote = window.indexOf(QUOTE);
  if (quote < 0 && final && buf.length - start <= maxBytes) return buf.length;
  let limit = quote >= 0 ? quote : Math.min(window.length, maxBytes);
  if (quote < 0 && !final && start + limit === buf.length && buf[buf.length - 1] === CR) limit--;
  if (limit <= 0) return start;
  const run = window.subarray(0, limit);
  const last = Math.max(run.lastIndexOf(LF), run.lastIndexOf(CR));
  if (last < 0) return start;
  const end = start + last + 1;
  // The window may stop between the CR and the LF of one CRLF.
  return buf[end - 1] === CR && buf[end] === LF ? end + 1 : end;
}

/** Whether the bytes at `start` need csv-parse: a quote ahead, or a record of over `maxBytes`. */
export function needsCsvParse(buf: Buffer, start: number, maxBytes: number): boolean {
  return buf.length - start > maxBytes || buf.indexOf(QUOTE, start) >= 0;
}

/**
 * The records of quote-free text: a line each, split on the delimiter (an empty line is one
 * empty field, as csv-parse reads it). A delimiter ending the text ends its last record.
 */
export function quoteFreeRecords(text: string, delimiter: string): string[][] {
  const lines = text.includes('\r') ? text.split(/\r\n|\r|\n/) : text.split('\n');
  const ending = text.charCodeAt(text.length - 1);
  if (ending === LF || ending === CR) lines.pop();
  const records: string[][] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) records[i] = lines[i].split(delimiter);
  return records;
}
