// Test-only faults of a stage: an engine whose stages perturb what they return, as a cheating
// member would (docs/ring.md, "Verified compute"), or answer late or never (docs/ring.md,
// "Deadlines"). Only test/util/ring-peer-child.ts passes one; the CLI has no flag for it.
import type { Engine, Stage, StageOutput } from '../../shared/engine/engine.ts';
import { RingmeshError } from '../../shared/errors.ts';

/**
 * `noise`: hidden outputs get ±`scale` · rms noise per value; `wrong-token`: logits get a new best;
 * `delay`: each run answers `ms` late; `silent`: runs never answer (the stage holds every frame).
 */
export type StageFault =
  | { readonly kind: 'noise'; readonly scale: number }
  | { readonly kind: 'wrong-token' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'silent' };

function perturb(out: StageOutput, fault: StageFault): StageOutput {
  if (fault.kind === 'noise' && out.kind === 'hidden') {
    const data = Float32Array.from(out.data);
    let sq = 0;
    for (const v of data) sq += v * v;
    const rms = Math.sqrt(sq / Math.max(1, data.length));
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + (Math.random() * 2 - 1) * fault.scale * rms;
    return { ...out, data };
  }
  if (fault.kind === 'wrong-token' && out.kind === 'logits') {
    const data = Float32Array.from(out.data);
    let best = 0;
    for (let i = 1; i < data.length; i++) if ((data[i] as number) > (data[best] as number)) best = i;
    const other = (best + 1) % data.length;
    data[other] = (data[best] as number) + 1; // a clear winner that is not the model's
    const { logSumExp: _stale, ...rest } = out;
    return { ...rest, data };
  }
  return out;
}

/** A silent stage's held run, rejected when the stage is disposed. */
export class FaultyStageDisposedError extends RingmeshError {
  constructor() {
    super('stage disposed');
  }
}

/** `engine` whose stages apply `current()` (read on every run) to their outputs. */
export function faultyEngine(engine: Engine, current: () => StageFault | undefined): Engine {
  return {
    kind: engine.kind,
    ...(engine.kvBytesPerElement === undefined ? {} : { kvBytesPerElement: engine.kvBytesPerElement }),
    dispose: () => engine.dispose(),
    async loadStage(spec): Promise<Stage> {
      const stage = await engine.loadStage(spec);
      // Silent runs settle (rejected) only when the stage goes away, so nothing outlives it.
      const held = new Set<(err: Error) => void>();
      return {
        range: stage.range,
        async run(session, input) {
          const before = current();
          if (before?.kind === 'silent') await new Promise<never>((_, reject) => held.add(reject));
          if (before?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, before.ms));
          const out = await stage.run(session, input);
          const fault = current();
          return fault === undefined ? out : perturb(out, fault);
        },
        sessionLength: (s) => stage.sessionLength(s),
        freeSession: (s) => stage.freeSession(s),
        dispose: () => {
          for (const reject of held) reject(new FaultyStageDisposedError());
          held.clear();
          return stage.dispose();
        },
      };
    },
  };
}
