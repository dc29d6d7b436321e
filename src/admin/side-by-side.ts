import type { SideBySideRow } from './api-types.ts';

/**
 * Lays a line diff (`' '`, `'-'`, `'+'` prefixed lines, as `lineDiff` gives them) out as rows of
 * two columns: kept lines on both sides, and within each change the removed lines paired with the
 * added ones, the longer run padded with empty cells.
 */
export function sideBySide(lines: readonly string[]): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  let left = 0;
  let right = 0;
  let i = 0;
  while (i < lines.length) {
    if (lines[i][0] !== '-' && lines[i][0] !== '+') {
      const text = lines[i].slice(1);
      rows.push({ kind: 'same', left: { line: ++left, text }, right: { line: ++right, text } });
      i++;
      continue;
    }
    const removed: string[] = [];
    const added: string[] = [];
    while (i < lines.length && lines[i][0] === '-') removed.push(lines[i++].slice(1));
    while (i < lines.length && lines[i][0] === '+') added.push(lines[i++].slice(1));
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const l = k < removed.length ? { line: ++left, text: removed[k] } : null;
      const r = k < added.length ? { line: ++right, text: added[k] } : null;
      rows.push({ kind: l && r ? 'changed' : l ? 'removed' : 'added', left: l, right: r });
    }
  }
  return rows;
}
