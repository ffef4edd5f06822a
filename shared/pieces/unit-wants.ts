// Units asked for by `PieceSwarm.fetchUnits` (a re-plan gave this peer other layers): their pieces
// join the wanted list at tier 0, and each ask resolves once every piece of its units is held.
import { keyOf, type PieceKey, type PieceRef } from './piece-ref.ts';

/** A piece this peer fetches and keeps: tier 0 = its partition and units asked for, 1 = the rest (replica=full). */
export interface WantedRef {
  readonly ref: PieceRef;
  readonly tier: number;
}

interface Ask {
  readonly units: ReadonlySet<string>;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Puts every piece of `units` into `wanted` at tier 0, in place: appended when missing, promoted
 * when wanted at tier 1. In place, because a running import of the own package walks the same
 * list. Returns how many pieces were appended.
 */
export function wantUnits(wanted: WantedRef[], all: readonly PieceRef[], units: readonly ReadonlySet<string>[]): number {
  const byKey = new Map<PieceKey, number>(wanted.map((w, i) => [keyOf(w.ref), i]));
  const before = wanted.length;
  for (const set of units) {
    for (const ref of all) {
      if (!set.has(ref.unit)) continue;
      const i = byKey.get(keyOf(ref));
      if (i === undefined) {
        byKey.set(keyOf(ref), wanted.length);
        wanted.push({ ref, tier: 0 });
      } else if ((wanted[i] as WantedRef).tier !== 0) {
        wanted[i] = { ref, tier: 0 };
      }
    }
  }
  return wanted.length - before;
}

/** The asks not yet satisfied, in the order they came. */
export class UnitWants {
  private asks: Ask[] = [];

  get size(): number {
    return this.asks.length;
  }

  /** The units of each open ask. */
  units(): ReadonlySet<string>[] {
    return this.asks.map((a) => a.units);
  }

  /** Resolves once `settle` sees every piece of `units` held; rejects on `rejectAll`. */
  add(units: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => this.asks.push({ units: new Set(units), resolve, reject }));
  }

  /** Resolves (and forgets) the asks whose units' pieces, per `all`, are all in `held`. */
  settle(all: readonly PieceRef[], held: ReadonlySet<PieceKey>): void {
    const done = this.asks.filter((a) => all.every((r) => !a.units.has(r.unit) || held.has(keyOf(r))));
    this.asks = this.asks.filter((a) => !done.includes(a));
    for (const a of done) a.resolve();
  }

  rejectAll(err: Error): void {
    for (const a of this.asks) a.reject(err);
    this.asks = [];
  }
}
