import { describe, expect, it } from 'vitest';
import { type TextBatch, textBatches } from './row-text.js';

const batchOf = (from: number, rows: number): TextBatch<number> => ({
  text: Array.from({ length: rows }, (_, i) => `${from + i}\n`).join(''),
  rows,
  last: rows === 0 ? undefined : from + rows - 1,
});

describe('textBatches', () => {
  it('leads with the header, reads batches until a short one, and the header alone for an empty walk', async () => {
    const walk = async (total: number) => {
      let text = '';
      for await (const piece of textBatches<number>('h\n', 2, async (last) => batchOf((last ?? 0) + 1, Math.min(2, total - (last ?? 0))))) text += piece.text;
      return text;
    };
    expect(await walk(5)).toBe('h\n1\n2\n3\n4\n5\n');
    expect(await walk(4)).toBe('h\n1\n2\n3\n4\n');
    expect(await walk(0)).toBe('h\n');
  });

  it('throws a batch read ahead that failed while the reader was slow, at the next piece, not as an unhandled rejection', async () => {
    const pieces = textBatches<number>('h\n', 2, async (last) => {
      if (last !== undefined) throw new Error('connection lost');
      return batchOf(1, 2);
    });
    expect((await pieces.next()).value?.text).toBe('h\n1\n2\n');
    // The read ahead fails while this piece is being written out; vitest fails a run on an unhandled rejection.
    await new Promise((r) => setTimeout(r, 20));
    await expect(pieces.next()).rejects.toThrow('connection lost');
  });
});
