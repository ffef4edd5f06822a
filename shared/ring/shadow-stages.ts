// The verifier's own copies of contributors' layer ranges (docs/ring.md, "Verified compute"):
// loaded on the verifying peer's engine from the same unit source as its stage (a seed holds every
// unit; others fetch them through the piece swarm), kept while a plan uses the range.
import type { Engine, Stage } from '../engine/engine.ts';
import type { LayerRange } from '../model/layer-range.ts';
import { unitsForRange, type ModelManifest } from '../model/manifest.ts';
import type { UnitSource } from './ring-peer.ts';

const key = (r: LayerRange): string => `${r.start}-${r.end}`;

export class ShadowStages {
  private readonly stages = new Map<string, Promise<Stage>>();

  constructor(private readonly opts: { readonly engine: Engine; readonly units: UnitSource; readonly manifest: ModelManifest; readonly threads?: number }) {}

  /** The stage for `range`, loading it on first use. Rejects when its units or the engine fail. */
  get(range: LayerRange): Promise<Stage> {
    const k = key(range);
    let s = this.stages.get(k);
    if (s === undefined) {
      s = this.load(range);
      this.stages.set(k, s);
      // A failed load is forgotten, so the next audit tries again.
      s.catch(() => this.stages.get(k) === s && this.stages.delete(k));
    }
    return s;
  }

  /** Keeps (and starts loading) exactly `ranges`; the others are disposed. */
  keep(ranges: readonly LayerRange[]): void {
    const wanted = new Set(ranges.map(key));
    for (const [k, s] of this.stages) {
      if (wanted.has(k)) continue;
      this.stages.delete(k);
      void s.then(
        (stage) => stage.dispose(),
        () => undefined,
      );
    }
    for (const r of ranges) void this.get(r).catch(() => undefined);
  }

  async dispose(): Promise<void> {
    const all = [...this.stages.values()];
    this.stages.clear();
    await Promise.all(
      all.map((s) =>
        s.then(
          (stage) => stage.dispose(),
          () => undefined,
        ),
      ),
    );
  }

  private async load(range: LayerRange): Promise<Stage> {
    const { manifest, units, engine, threads } = this.opts;
    const bytes = await units.fetchUnits(unitsForRange(manifest.architecture.numLayers, range.start, range.end));
    return engine.loadStage({ manifest, range, units: bytes, releaseUnits: () => bytes.clear(), ...(threads === undefined ? {} : { threads }) });
  }
}
