import { describe, expect, it } from 'vitest';
import { escapeCsvCell } from './csv-cell.js';

describe('escapeCsvCell', () => {
  it.each(['=1+2', '+SUM(A1)', '@cmd', '\tx', '\rx', '-cmd|calc', '-', '-1+2'])(
    'prefixes the formula-like text %j with an apostrophe',
    (cell) => expect(escapeCsvCell(cell)).toBe(`'${cell}`),
  );
  it.each(['-100', '-1.5', '100', 'plain text', '', 'a=b'])('leaves %j unchanged', (cell) =>
    expect(escapeCsvCell(cell)).toBe(cell),
  );
});
