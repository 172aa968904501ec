/**
 * What kind of text an upload is, from its first bytes: UTF-8 with or without a byte-order
 * mark is read; UTF-16, Latin-1 (bytes that are not valid UTF-8) and binary files are refused
 * with a sentence saying what to do. The delimiter is the one of comma, semicolon and tab that
 * the header line (outside quotes) uses most.
 */
export type Sniffed = { ok: true; bom: boolean; delimiter: ',' | ';' | '\t' } | { ok: false; message: string };

export const SNIFF_BYTES = 64 * 1024;

export function sniff(head: Uint8Array, complete: boolean): Sniffed {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return { ok: false, message: 'The file is UTF-16 encoded; save it as CSV UTF-8 and upload it again' };
  }
  const bom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  const nul = head.indexOf(0);
  if (nul >= 0) {
    const utf16 = head.length >= 4 && (head[1] === 0 || head[0] === 0) && (head[3] === 0 || head[2] === 0);
    return {
      ok: false,
      message: utf16
        ? 'The file looks UTF-16 encoded; save it as CSV UTF-8 and upload it again'
        : 'The file is not text (it contains NUL bytes); upload a CSV file',
    };
  }
  let text: string;
  try {
    // stream: a multi-byte character cut at the end of the sample is not an error unless the file ends there.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: !complete });
  } catch {
    return { ok: false, message: 'The file is not UTF-8 (perhaps Latin-1 or Windows-1252); save it as CSV UTF-8 and upload it again' };
  }
  return { ok: true, bom, delimiter: detectDelimiter(text) };
}

/** The delimiter of the first line, counting only characters outside quoted fields. */
export function detectDelimiter(text: string): ',' | ';' | '\t' {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[','] && counts['\t'] > counts[';']) return '\t';
  return ',';
}
