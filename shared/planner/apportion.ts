// Bounded proportional apportionment: real quotas by water-filling, then integer counts that stay
// within one layer of them.

/**
 * Quotas q_i = clamp(λ·w_i, lo_i, hi_i) with λ chosen so that Σ q_i = total (water-filling: members
 * at a bound stay there, the rest share in proportion to their weight). Requires w_i > 0 and
 * Σ lo ≤ total ≤ Σ hi. Pure arithmetic in input order, so equal inputs give equal bits.
 */
export function waterFill(weights: readonly number[], lo: readonly number[], hi: readonly number[], total: number): number[] {
  const n = weights.length;
  const at = (i: number, lambda: number): number => Math.min(hi[i] as number, Math.max(lo[i] as number, lambda * (weights[i] as number)));
  const sumAt = (lambda: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += at(i, lambda);
    return s;
  };
  const breakpoints: number[] = [];
  for (let i = 0; i < n; i++) {
    breakpoints.push((lo[i] as number) / (weights[i] as number), (hi[i] as number) / (weights[i] as number));
  }
  breakpoints.sort((a, b) => a - b);
  // First breakpoint where the sum reaches total (binary search: sumAt is non-decreasing).
  let a = 0;
  let b = breakpoints.length - 1;
  if (sumAt(breakpoints[b] as number) <= total) return weights.map((_, i) => at(i, breakpoints[b] as number));
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sumAt(breakpoints[mid] as number) >= total) b = mid;
    else a = mid + 1;
  }
  const right = breakpoints[a] as number;
  if (a === 0 || sumAt(right) === total) return weights.map((_, i) => at(i, right));
  const left = breakpoints[a - 1] as number;
  // Between two breakpoints the set of unclamped members is fixed: solve the linear piece.
  const probe = (left + right) / 2;
  let fixed = 0;
  let freeWeight = 0;
  for (let i = 0; i < n; i++) {
    const v = probe * (weights[i] as number);
    if (v <= (lo[i] as number)) fixed += lo[i] as number;
    else if (v >= (hi[i] as number)) fixed += hi[i] as number;
    else freeWeight += weights[i] as number;
  }
  const lambda = freeWeight > 0 ? (total - fixed) / freeWeight : right;
  return weights.map((_, i) => at(i, lambda));
}

/** The integers a quota may round to: itself when (numerically) whole, else floor and ceil. */
export function roundingChoices(q: number): readonly [number, number] {
  const r = Math.round(q);
  if (Math.abs(q - r) <= 1e-9 * Math.max(1, q)) return [r, r];
  return [Math.floor(q), Math.ceil(q)];
}

/**
 * Largest-remainder rounding: every count is floor or ceil of its quota, Σ = total, the extra
 * layers go to the largest fractional parts (ties: lower `tieRank`, e.g. the rank of the peer id).
 * Falls back to a bounded greedy fix only if float error broke Σ floor ≤ total ≤ Σ ceil.
 */
export function roundLargestRemainder(
  quotas: readonly number[],
  total: number,
  lo: readonly number[],
  hi: readonly number[],
  tieRank: readonly number[] = quotas.map((_, i) => i),
): number[] {
  const choices = quotas.map(roundingChoices);
  const counts = choices.map(([f]) => f);
  const need = total - counts.reduce((s, x) => s + x, 0);
  const upOrder = quotas
    .map((q, i) => ({ i, frac: q - (choices[i] as readonly [number, number])[0] }))
    .filter(({ i }) => (choices[i] as readonly [number, number])[1] > (choices[i] as readonly [number, number])[0])
    .sort((x, y) => y.frac - x.frac || (tieRank[x.i] as number) - (tieRank[y.i] as number));
  if (need < 0 || need > upOrder.length) return fixSum(counts, total, lo, hi);
  for (let k = 0; k < need; k++) {
    const { i } = upOrder[k] as { i: number };
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

/** Moves counts one at a time towards Σ = total, staying inside [lo, hi] (float-error safety net). */
function fixSum(counts: number[], total: number, lo: readonly number[], hi: readonly number[]): number[] {
  const out = counts.map((c, i) => Math.min(hi[i] as number, Math.max(lo[i] as number, c)));
  let diff = total - out.reduce((s, x) => s + x, 0);
  // Each full pass moves |diff| by at least one while any member has room, so this many suffice.
  const steps = (Math.abs(diff) + 1) * out.length;
  for (let i = 0; diff !== 0 && i < steps; i++) {
    const j = i % out.length;
    const v = out[j] as number;
    if (diff > 0 && v < (hi[j] as number)) {
      out[j] = v + 1;
      diff--;
    } else if (diff < 0 && v > (lo[j] as number)) {
      out[j] = v - 1;
      diff++;
    }
  }
  return out;
}
