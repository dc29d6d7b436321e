/** Past this many LCS cells (about 16 MB) the changed middle is shown as removed-then-added. */
const MAX_CELLS = 4_000_000;

/**
 * A line diff of `a` → `b` as unified-diff-like lines: `' '` kept, `'-'` only in `a`, `'+'` only
 * in `b`, every line of both texts in order (no hunks). A longest common subsequence over the lines
 * that differ, after trimming the common head and tail; removals come before additions in a change.
 */
export function lineDiff(a: string, b: string): string[] {
  const x = splitLines(a);
  const y = splitLines(b);
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  const out = x.slice(0, head).map((l) => ` ${l}`);
  out.push(...middle(xs, ys));
  out.push(...x.slice(x.length - tail).map((l) => ` ${l}`));
  return out;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function middle(x: string[], y: string[]): string[] {
  const n = x.length;
  const m = y.length;
  if (n * m === 0 || n * m > MAX_CELLS) return [...x.map((l) => `-${l}`), ...y.map((l) => `+${l}`)];
  // len[i * (m + 1) + j] = LCS length of x[i..] and y[j..]
  const len = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i * (m + 1) + j] = x[i] === y[j] ? len[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(len[(i + 1) * (m + 1) + j], len[i * (m + 1) + j + 1]);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) out.push(` ${x[i++]}`), j++;
    else if (j >= m || (i < n && len[(i + 1) * (m + 1) + j] >= len[i * (m + 1) + j + 1])) out.push(`-${x[i++]}`);
    else out.push(`+${y[j++]}`);
  }
  return out;
}
