import { layerCostBytes, type ModelShape } from './model-shape.ts';

/**
 * How many layers a budget holds in each ring position. The first stage also holds the embedding,
 * the last the head, a single stage both; every layer brings its KV reservation.
 */
export interface RoleCapacity {
  readonly middle: number;
  readonly first: number;
  readonly last: number;
  readonly only: number;
}

export function roleCapacity(shape: ModelShape, memoryBytes: number): RoleCapacity {
  const c = layerCostBytes(shape);
  const fit = (overhead: number): number => Math.max(0, Math.floor((memoryBytes - overhead) / c));
  return {
    middle: fit(0),
    first: fit(shape.embedBytes),
    last: fit(shape.headBytes),
    only: fit(shape.embedBytes + shape.headBytes),
  };
}

/** Capacity of a position: `first` and `last` both true means the single stage of a one-peer ring. */
export function capacityAt(cap: RoleCapacity, first: boolean, last: boolean): number {
  if (first && last) return cap.only;
  if (first) return cap.first;
  if (last) return cap.last;
  return cap.middle;
}

/** Best gains (≤ 0) of hosting embed / head, over members that can host them with ≥ 1 layer. */
function bestEndGains(caps: readonly RoleCapacity[]): { first: number | null; last: number | null; pair: number | null } {
  let first: number | null = null;
  let last: number | null = null;
  let pair: number | null = null;
  for (let f = 0; f < caps.length; f++) {
    const cf = caps[f] as RoleCapacity;
    if (cf.first >= 1) first = Math.max(first ?? -Infinity, cf.first - cf.middle);
    if (cf.last >= 1) last = Math.max(last ?? -Infinity, cf.last - cf.middle);
    if (cf.first < 1) continue;
    for (let l = 0; l < caps.length; l++) {
      const cl = caps[l] as RoleCapacity;
      if (l === f || cl.last < 1) continue;
      pair = Math.max(pair ?? -Infinity, cf.first - cf.middle + (cl.last - cl.middle));
    }
  }
  return { first, last, pair };
}

/**
 * Whether some ring over these members can hold the model: one member alone, or a first stage f
 * and a different last stage l with Σ capacities ≥ numLayers (the others in the middle, members
 * with no capacity left out as seeders).
 */
function canHoldModel(shape: ModelShape, caps: readonly RoleCapacity[]): boolean {
  if (caps.some((c) => c.only >= shape.numLayers)) return true;
  const base = caps.reduce((s, c) => s + c.middle, 0);
  const { pair } = bestEndGains(caps);
  // Two or more stages need two or more layers: each stage holds at least one.
  return shape.numLayers >= 2 && pair !== null && base + pair >= shape.numLayers;
}

/**
 * The smallest memory budget one more peer X would need so that a plan exists; 0 when one exists
 * already. X takes the role that needs least: the whole model alone; the first stage (embed + the
 * layers the others cannot hold, at least one) with the best existing last stage; the last stage
 * symmetrically; or a middle stage between the best existing first and last.
 */
export function missingBytes(shape: ModelShape, caps: readonly RoleCapacity[]): number {
  if (canHoldModel(shape, caps)) return 0;
  const L = shape.numLayers;
  const c = layerCostBytes(shape);
  const base = caps.reduce((s, cap) => s + cap.middle, 0);
  // X must carry at least one layer, and every layer the others cannot hold.
  const layersFor = (held: number): number => Math.max(1, L - held);
  const options = [L * c + shape.embedBytes + shape.headBytes];
  const gains = bestEndGains(caps);
  // Every stage holds ≥ 1 layer: X at one end needs L ≥ 2, X between two others L ≥ 3.
  if (L >= 2 && gains.last !== null) options.push(shape.embedBytes + layersFor(base + gains.last) * c);
  if (L >= 2 && gains.first !== null) options.push(shape.headBytes + layersFor(base + gains.first) * c);
  if (L >= 3 && gains.pair !== null) options.push(layersFor(base + gains.pair) * c);
  return Math.min(...options);
}
