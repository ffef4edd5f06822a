import type { LayerRange } from '../model/layer-range.ts';
import { InvalidSplitError } from './errors.ts';

/** `--split 2,3` → [0,2) [2,5): layer counts per stage, in order, summing to numLayers. */
export function rangesFromSplit(spec: string, numLayers: number): LayerRange[] {
  const counts = spec.split(',').map((s) => Number(s.trim()));
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) throw new InvalidSplitError(spec, numLayers, 'expected comma-separated positive layer counts');
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== numLayers) throw new InvalidSplitError(spec, numLayers, `counts sum to ${total}, expected ${numLayers}`);
  const ranges: LayerRange[] = [];
  let start = 0;
  for (const c of counts) {
    ranges.push({ start, end: start + c });
    start += c;
  }
  return ranges;
}

/** `--stages K` → K contiguous ranges as equal as possible (earlier stages take the remainder). */
export function evenRanges(stages: number, numLayers: number): LayerRange[] {
  if (!Number.isInteger(stages) || stages < 1 || stages > numLayers) {
    throw new InvalidSplitError(String(stages), numLayers, `expected 1 to ${numLayers} stages`);
  }
  const base = Math.floor(numLayers / stages);
  const extra = numLayers % stages;
  return rangesFromSplit(Array.from({ length: stages }, (_, i) => base + (i < extra ? 1 : 0)).join(','), numLayers);
}
