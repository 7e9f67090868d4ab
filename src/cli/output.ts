/** Plain-text rendering for people; `--json` output is the command's `json` value as is. */

/** Columns padded to the widest cell; the last column is not padded, so long values just run on. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `label:  value` lines with the values aligned. */
export function fields(entries: Array<[label: string, value: string]>, indent = '  '): string {
  const width = Math.max(...entries.map(([label]) => label.length)) + 1;
  return entries.map(([label, value]) => `${indent}${`${label}:`.padEnd(width)}  ${value}`).join('\n');
}

/** Timestamps in UTC to the second: sortable and the same on every operator's machine. */
export function timestamp(date: Date | string | undefined): string {
  if (date === undefined) return '-';
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
