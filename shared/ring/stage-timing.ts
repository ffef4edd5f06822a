// Stage speed as a trusted requester observes it, not as a member claims it. In an audited session
// every stage sends the requester its audit as soon as its step is done, so the time between stage
// k−1's audit and stage k's audit of one step is stage k's compute plus its inbound hop — what the
// stage costs a token. A stage can delay its audits (and look slower, which only costs it layers)
// but cannot send one early: an audit before the work is a wrong audit, and verification evicts
// it. Medians over recent samples feed the planner through a `speed` report (speed-report.ts).
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId, SessionId } from '../ids.ts';

/**
 * The least a sample counts as, ms per layer: a step faster than the clock's resolution (a tiny
 * model's stage in well under a millisecond) is "fast", not free — the planner needs a positive speed.
 */
export const MIN_MS_PER_LAYER = 0.01;
/** Samples kept per stage (the most recent). */
export const TIMING_SAMPLES = 64;
/** Audited submissions followed at once; the oldest is forgotten first. */
const MAX_OPEN = 64;
/** Steps of one submission waiting for their earlier stage's audit. */
const MAX_STEPS_PER_OPEN = 256;

interface Open {
  readonly stages: readonly PeerId[];
  readonly ranges: readonly LayerRange[];
  /** Per step: arrival time of each stage's audit. */
  readonly arrivals: Map<number, Map<number, number>>;
}

export interface MeasuredSpeed {
  readonly peer: PeerId;
  /** Median ms per layer (compute plus inbound hop) over `samples` steps. */
  readonly msPerLayer: number;
  readonly samples: number;
}

export class StageTiming {
  private readonly open = new Map<SessionId, Open>();
  private readonly samples = new Map<PeerId, number[]>();

  /** An audited submission starts: its stages and their layer ranges, in ring order. */
  follow(wire: SessionId, stages: readonly PeerId[], ranges: readonly LayerRange[]): void {
    if (this.open.size >= MAX_OPEN) this.open.delete(this.open.keys().next().value as SessionId);
    this.open.set(wire, { stages, ranges, arrivals: new Map() });
  }

  forget(wire: SessionId): void {
    this.open.delete(wire);
  }

  /** Stage `stage`'s audit of `step` arrived at `at` (ms). */
  record(wire: SessionId, step: number, stage: number, at: number): void {
    const o = this.open.get(wire);
    if (o === undefined || stage < 0 || stage >= o.stages.length) return;
    let byStage = o.arrivals.get(step);
    if (byStage === undefined) {
      if (o.arrivals.size >= MAX_STEPS_PER_OPEN) o.arrivals.delete(o.arrivals.keys().next().value as number);
      byStage = new Map();
      o.arrivals.set(step, byStage);
    }
    byStage.set(stage, at);
    // Stage 0 has no earlier audit to measure from; every later stage pairs with the one before it.
    const before = byStage.get(stage - 1);
    if (before !== undefined) this.sample(o, stage, at - before);
    const after = byStage.get(stage + 1);
    if (after !== undefined) this.sample(o, stage + 1, after - at);
    if (byStage.size === o.stages.length) o.arrivals.delete(step);
  }

  /** Every stage with samples: its median ms per layer. */
  measured(): MeasuredSpeed[] {
    return [...this.samples].map(([peer, s]) => ({ peer, msPerLayer: median(s), samples: s.length }));
  }

  private sample(o: Open, stage: number, ms: number): void {
    const peer = o.stages[stage];
    const range = o.ranges[stage];
    if (peer === undefined || range === undefined || ms < 0) return;
    const layers = Math.max(1, range.end - range.start);
    const s = this.samples.get(peer) ?? [];
    s.push(Math.max(MIN_MS_PER_LAYER, ms / layers));
    if (s.length > TIMING_SAMPLES) s.shift();
    this.samples.set(peer, s);
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
