/**
 * Makes a CSV cell safe to open in a spreadsheet: a text that a spreadsheet would run
 * as a formula (starting with =, +, @, tab, CR, or a - that does not start a number)
 * gets a leading apostrophe. Numbers such as -100 stay numbers.
 */
export function escapeCsvCell(value: string): string {
  if (value.length === 0) return value;
  const first = value[0];
  if (first === '=' || first === '+' || first === '@' || first === '\t' || first === '\r') return `'${value}`;
  if (first === '-' && !/^-\d+(\.\d+)?$/.test(value)) return `'${value}`;
  return value;
}
