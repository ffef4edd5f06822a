import type { Engine, Stage } from '../../shared/engine/engine.ts';

/**
 * Decorates an engine so every stage it loads counts the positions it runs (a decode step is one
 * token through this tab's layers): `onTokens(n)` after each successful run.
 */
export function withStageMetrics(engine: Engine, onTokens: (n: number) => void): Engine {
  return {
    get kind() {
      return engine.kind;
    },
    async loadStage(spec) {
      const stage = await engine.loadStage(spec);
      const counted: Stage = {
        range: stage.range,
        async run(session, input) {
          const out = await stage.run(session, input);
          onTokens(input.kind === 'tokens' ? input.ids.length : input.seqLen);
          return out;
        },
        sessionLength: (s) => stage.sessionLength(s),
        freeSession: (s) => stage.freeSession(s),
        dispose: () => stage.dispose(),
      };
      return counted;
    },
    dispose: () => engine.dispose(),
  };
}

/** Tokens per second over a sliding window. */
export class RateMeter {
  private readonly events: { t: number; n: number }[] = [];
  total = 0;

  constructor(private readonly windowMs = 5000) {}

  add(n: number, now = Date.now()): void {
    this.total += n;
    this.events.push({ t: now, n });
  }

  rate(now = Date.now()): number {
    while (this.events.length > 0 && now - this.events[0]!.t > this.windowMs) this.events.shift();
    const n = this.events.reduce((a, e) => a + e.n, 0);
    return n / (this.windowMs / 1000);
  }
}
