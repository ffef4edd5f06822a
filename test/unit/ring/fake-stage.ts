// A tiny deterministic "model" whose layers really use a per-session KV cache, so a split ring
// only matches one stage if caches, steps and hand-offs are right. Values stay integers < 2^24,
// exact in Float32Array.
import type { Stage, StageInput, StageOutput } from '../../../shared/engine/engine.ts';
import type { LayerRange } from '../../../shared/model/layer-range.ts';
import type { SessionId } from '../../../shared/ids.ts';

export const VOCAB = 37;
const P = 1_000_003;

export class FakeStage implements Stage {
  private readonly kv = new Map<SessionId, number[][]>();
  /** Sessions freed, in order (for assertions). */
  readonly freed: SessionId[] = [];
  runs = 0;
  failNext = false;

  constructor(
    readonly range: LayerRange,
    private readonly numLayers: number,
  ) {}

  run(session: SessionId, input: StageInput): Promise<StageOutput> {
    this.runs++;
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('fake engine failure'));
    }
    let values = input.kind === 'tokens' ? Array.from(input.ids, (t) => t + 1) : Array.from(input.data);
    const cache = this.kv.get(session) ?? Array.from({ length: this.range.end - this.range.start }, () => []);
    this.kv.set(session, cache);
    for (let l = this.range.start; l < this.range.end; l++) {
      const layer = cache[l - this.range.start] as number[];
      values = values.map((v) => {
        layer.push(v);
        const sum = layer.reduce((a, b) => (a + b) % P, 0);
        return (v * 31 + sum * 7 + l) % P;
      });
    }
    if (this.range.end === this.numLayers) {
      const logits = new Float32Array(VOCAB);
      logits[(values.at(-1) as number) % VOCAB] = 1;
      return Promise.resolve({ kind: 'logits', data: logits });
    }
    return Promise.resolve({ kind: 'hidden', data: Float32Array.from(values), seqLen: values.length });
  }

  sessionLength(session: SessionId): number {
    return this.kv.get(session)?.[0]?.length ?? 0;
  }

  freeSession(session: SessionId): void {
    if (this.kv.delete(session)) this.freed.push(session);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
