// This peer's own stage (docs/ring.md): loads the layers each plan gives it (units from the
// injected source, graph on the injected engine), one load after another, each checking at its
// end whether the latest plan still wants it; then serves the loaded stage with one runner per
// stage and evicts its idle sessions.
import type { Stage } from '../engine/engine.ts';
import type { RunTimingSnapshot } from '../engine/run-timing.ts';
import type { LayerRange } from '../model/layer-range.ts';
import type { PeerId } from '../ids.ts';
import { unitsForRange } from '../model/manifest.ts';
import type { RingSend } from './messages.ts';
import { myRing, myStage, sameRange } from './my-ring.ts';
import type { RingPeerEvent, RingPeerOptions } from './ring-peer-types.ts';
import type { PlannedRing, RingPlan } from './ring-plan.ts';
import { stageLimitsFor } from './stage-budget.ts';
import { RingStageRunner } from './stage-runner.ts';

export interface StageHostOptions {
  readonly peer: Pick<RingPeerOptions, 'manifest' | 'units' | 'engine' | 'clock' | 'threads' | 'sessionIdleMs' | 'memoryBytes' | 'stageLimits'>;
  readonly self: () => PeerId | undefined;
  /** Context the ring serves (each stage reserves KV for it). */
  readonly contextTokens: number;
  readonly send: RingSend;
  /** The latest plan: a load that finds it no longer wants its layers stops there. */
  readonly current: () => { epoch: number; plan: RingPlan } | null;
  /** The stage serves `ring` under `epoch` now. */
  readonly onServing: (epoch: number, ring: readonly PeerId[]) => void;
  readonly emit: (e: RingPeerEvent) => void;
}

interface Loaded {
  readonly range: LayerRange;
  readonly stage: Stage;
}

export class StageHost {
  private loaded: Loaded | null = null;
  /** The runner serving the current plan; null while none does (frames for the stage are dropped). */
  private serving: RingStageRunner | null = null;
  /** The loaded stage's runner, kept across pauses so its session bookkeeping survives. */
  private stageRunner: RingStageRunner | null = null;
  private runnerStage: Stage | null = null;
  /** Stage loads run one after another; each checks at its end whether it is still wanted. */
  private loading: Promise<void> = Promise.resolve();
  private evictTimer: unknown;
  private stopped = false;

  constructor(private readonly opts: StageHostOptions) {
    const { clock } = opts.peer;
    const idleMs = opts.peer.sessionIdleMs ?? 120_000;
    const evict = (): void => {
      if (this.stopped) return;
      this.serving?.evictIdle();
      this.evictTimer = clock.setTimeout(evict, Math.max(1000, idleMs / 2));
    };
    this.evictTimer = clock.setTimeout(evict, Math.max(1000, idleMs / 2));
  }

  /** The runner frames for this peer's stage go to; null while no stage serves the current plan. */
  runner(): RingStageRunner | null {
    return this.serving;
  }

  /** What the loaded stage's decode runs cost (undefined: no stage, or one that does not measure). */
  runTiming(): RunTimingSnapshot | undefined {
    return this.loaded?.stage.runTiming?.();
  }

  /** Whether the stage serving now holds `layers`. */
  serves(layers: LayerRange): boolean {
    return this.serving !== null && sameRange(this.loaded?.range, layers);
  }

  /** No stage serves until the next plan (one the room lacks the memory for). */
  pause(): void {
    this.serving = null;
  }

  /** A plan that gives this peer `layers` (null: none): serve the loaded stage, or load another. */
  onPlan(epoch: number, plan: PlannedRing, layers: LayerRange | null): void {
    if (layers === null) {
      this.serving = null;
      this.loading = this.loading.then(() => this.unload());
      return;
    }
    if (this.loaded !== null && sameRange(this.loaded.range, layers)) {
      this.serve(epoch, plan, this.loaded);
      return;
    }
    this.serving = null; // frames for the old layers stop here; the new stage is not there yet
    this.loading = this.loading
      .then(() => this.load(epoch, layers))
      .catch((err: unknown) => this.opts.emit({ event: 'error', message: `loading layers [${layers.start}, ${layers.end}): ${String(err)}` }));
  }

  /** No more loads, serving or evictions; `close` then frees the stage. */
  stop(): void {
    this.stopped = true;
    this.opts.peer.clock.clearTimeout(this.evictTimer);
  }

  async close(): Promise<void> {
    this.stop();
    await this.loading;
    this.serving = null;
    await this.loaded?.stage.dispose();
    this.loaded = null;
  }

  private async unload(): Promise<void> {
    const old = this.loaded;
    this.loaded = null;
    await old?.stage.dispose();
  }

  private async load(epoch: number, range: LayerRange): Promise<void> {
    if (this.isStale(epoch, range)) return;
    // Two plans in a row with the same new range queue two loads: the first one did the work.
    if (this.loaded !== null && sameRange(this.loaded.range, range)) return this.serveLatest(range);
    const { peer } = this.opts;
    const started = peer.clock.now();
    this.serving = null;
    await this.unload(); // free the old layers' memory before taking the new ones
    const units = await peer.units.fetchUnits(unitsForRange(peer.manifest.architecture.numLayers, range.start, range.end));
    if (this.isStale(epoch, range)) return;
    const stage = await peer.engine.loadStage({
      manifest: peer.manifest,
      range,
      units,
      releaseUnits: () => units.clear(),
      ...(peer.threads === undefined ? {} : { threads: peer.threads }),
    });
    if (this.stopped) return void (await stage.dispose());
    this.loaded = { range, stage };
    this.opts.emit({ event: 'stage-loaded', epoch, start: range.start, end: range.end, ms: peer.clock.now() - started });
    this.serveLatest(range);
  }

  /** Serves the latest plan with the loaded stage if that plan still gives this peer `range`. */
  private serveLatest(range: LayerRange): void {
    const p = this.opts.current();
    if (p === null || p.plan.kind !== 'planned' || this.loaded === null) return;
    const mine = myStage(p.plan, this.opts.self());
    if (mine && sameRange(mine, range)) this.serve(p.epoch, p.plan, this.loaded);
  }

  /** A load is stale once the latest plan no longer gives this peer `range`. */
  private isStale(epoch: number, range: LayerRange): boolean {
    const p = this.opts.current();
    if (this.stopped || p === null || p.plan.kind !== 'planned') return true;
    if (p.epoch === epoch) return false;
    const mine = myStage(p.plan, this.opts.self());
    return !(mine && sameRange(mine, range));
  }

  private serve(epoch: number, plan: PlannedRing, loaded: Loaded): void {
    const self = this.opts.self() as PeerId;
    const { peer } = this.opts;
    // One runner per loaded stage: re-serving a stage after a pause keeps its session bookkeeping,
    // so setPlan frees the caches of sessions from earlier epochs.
    if (this.stageRunner === null || this.runnerStage !== loaded.stage) {
      this.stageRunner = new RingStageRunner({
        self,
        stage: loaded.stage,
        numLayers: plan.numLayers,
        send: (to, m) => this.opts.send(to, m),
        clock: peer.clock,
        idleMs: peer.sessionIdleMs ?? 120_000,
        limits: stageLimitsFor({
          manifest: peer.manifest,
          range: loaded.range,
          contextTokens: this.opts.contextTokens,
          ...(peer.memoryBytes === undefined ? {} : { memoryBytes: peer.memoryBytes }),
          ...(peer.stageLimits === undefined ? {} : { caps: peer.stageLimits }),
          ...(peer.engine.kvBytesPerElement === undefined ? {} : { kvBytesPerElement: peer.engine.kvBytesPerElement }),
        }),
      });
      this.runnerStage = loaded.stage;
    }
    // This peer's stage serves its own replica ring (docs/ring.md, "Replica rings").
    const ring = myRing(plan, self) ?? [];
    this.serving = this.stageRunner;
    this.serving.setPlan(epoch, ring);
    this.opts.onServing(epoch, ring);
  }
}
