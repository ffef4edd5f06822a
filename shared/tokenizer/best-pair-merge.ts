/**
 * run.c's merge loop — repeatedly fuse the adjacent pair whose concatenation is in the vocab with
 * the best score, leftmost on ties, until none is left — in O(n log n) instead of run.c's O(n²):
 * a heap of candidate pairs keyed by (score desc, position asc); entries made stale by a merge are
 * recognised by per-position versions and skipped. Same result as the quadratic loop.
 */
export function mergeBestPairs(
  tokens: readonly number[],
  pairToken: (left: number, right: number) => number | undefined,
  score: (id: number) => number,
): number[] {
  const n = tokens.length;
  const id = Int32Array.from(tokens);
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const version = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  const heap = new CandidateHeap();
  const consider = (l: number): void => {
    const r = next[l] as number;
    if (l < 0 || r < 0) return;
    const merged = pairToken(id[l] as number, id[r] as number);
    // run.c starts its best score at -1e10 and needs strictly more to merge.
    if (merged === undefined || !(score(merged) > -1e10)) return;
    heap.push({ score: score(merged), left: l, right: r, merged, lv: version[l] as number, rv: version[r] as number });
  };
  for (let i = 0; i + 1 < n; i++) consider(i);
  for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
    if (!alive[c.left] || !alive[c.right] || next[c.left] !== c.right || version[c.left] !== c.lv || version[c.right] !== c.rv) continue;
    id[c.left] = c.merged;
    version[c.left] = (version[c.left] as number) + 1;
    alive[c.right] = 0;
    const after = next[c.right] as number;
    next[c.left] = after;
    if (after >= 0) prev[after] = c.left;
    consider(prev[c.left] as number);
    consider(c.left);
  }
  const out: number[] = [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i] as number) out.push(id[i] as number);
  return out;
}

interface Candidate {
  readonly score: number;
  readonly left: number;
  readonly right: number;
  readonly merged: number;
  readonly lv: number;
  readonly rv: number;
}

/** Binary heap: best score first, then leftmost position (positions keep their order across merges). */
class CandidateHeap {
  private readonly items: Candidate[] = [];

  private before(a: Candidate, b: Candidate): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i] as Candidate, h[p] as Candidate)) break;
      [h[i], h[p]] = [h[p] as Candidate, h[i] as Candidate];
      i = p;
    }
  }

  pop(): Candidate | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l] as Candidate, h[best] as Candidate)) best = l;
        if (r < h.length && this.before(h[r] as Candidate, h[best] as Candidate)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best] as Candidate, h[i] as Candidate];
        i = best;
      }
    }
    return top;
  }
}
