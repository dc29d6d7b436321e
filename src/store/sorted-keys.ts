const MAX_CHUNK = 512;

/**
 * An ordered set of keys (latin1 strings, so JS string order is etcd's byte order) kept as a
 * list of sorted chunks: inserts and deletes move at most one chunk, range scans walk chunks in
 * order. Simpler than a B-tree and, at 512 keys a chunk, as fast for the sizes a store holds.
 */
export class SortedKeys {
  private chunks: string[][] = [[]];
  private total = 0;

  get size(): number {
    return this.total;
  }

  insert(key: string): void {
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci];
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return;
    chunk.splice(i, 0, key);
    this.total++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(ci + 1, 0, chunk.splice(MAX_CHUNK >> 1));
  }

  delete(key: string): void {
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci];
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    this.total--;
    if (chunk.length === 0 && this.chunks.length > 1) this.chunks.splice(ci, 1);
  }

  /** Keys k with start <= k < end, in order; `end` undefined means no upper bound. */
  *range(start: string, end?: string): IterableIterator<string> {
    let ci = this.chunkFor(start);
    let i = lowerBound(this.chunks[ci], start);
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci];
      for (; i < chunk.length; i++) {
        const k = chunk[i];
        if (end !== undefined && k >= end) return;
        yield k;
      }
    }
  }

  /** Index of the chunk whose key span would hold `key`. */
  private chunkFor(key: string): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const first = chunks[mid][0];
      if (first !== undefined && first <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function lowerBound(a: string[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
