// One-off ranged REQUESTs to one peer whose answer goes back to the caller, not into the store:
// a trusted member asks a stage for a few bytes of the pieces it claims to hold (docs/ring.md,
// "Proof of holding"). The ordinary exchange only asks for whole pieces, so a ranged PIECE that
// answers no probe is still a violation there.
import type { FrameOf } from '../wire/frame-types.ts';

/** How a probe ended. `invalid`: a PIECE for another piece or offset than asked, or longer. */
export type ProbeAnswer =
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly detail: string }
  | { readonly kind: 'timeout' }
  /** No connection to the peer, or it closed before answering. */
  | { readonly kind: 'unreachable' };

export interface ProbeRequest {
  readonly unit: string;
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
}

interface Waiting extends ProbeRequest {
  readonly resolve: (a: ProbeAnswer) => void;
}

/** Most probes one session keeps open; more are answered `rejected` at once (they are few by design). */
export const MAX_OPEN_PROBES = 64;

/** The open probes of one session, by request id (ids shared with the session's other requests). */
export class RangeProbes {
  private readonly open = new Map<number, Waiting>();

  get size(): number {
    return this.open.size;
  }

  /** Registers a probe under `requestId`; resolves when `settle`, `end` or `endAll` sees it. */
  add(requestId: number, req: ProbeRequest): Promise<ProbeAnswer> {
    return new Promise((resolve) => this.open.set(requestId, { ...req, resolve }));
  }

  /** Settles the probe a PIECE or REJECT answers; false when the frame answers no probe. */
  settle(f: FrameOf<'PIECE'> | FrameOf<'REJECT'>): boolean {
    const w = this.open.get(f.requestId);
    if (w === undefined) return false;
    this.open.delete(f.requestId);
    if (f.type === 'REJECT') {
      w.resolve({ kind: 'rejected', reason: f.reason });
    } else if (f.unit !== w.unit || f.piece !== w.piece || f.offset !== w.offset || f.data.byteLength > w.length) {
      w.resolve({ kind: 'invalid', detail: `asked ${w.unit}#${w.piece}@${w.offset}+${w.length}, got ${f.unit}#${f.piece}@${f.offset}+${f.data.byteLength}` });
    } else {
      w.resolve({ kind: 'data', data: f.data });
    }
    return true;
  }

  /** Ends one probe with `answer` (a timeout); returns what it asked, or undefined if already settled. */
  end(requestId: number, answer: ProbeAnswer): ProbeRequest | undefined {
    const w = this.open.get(requestId);
    if (w === undefined) return undefined;
    this.open.delete(requestId);
    w.resolve(answer);
    return w;
  }

  /** Ends every open probe (the connection closed). */
  endAll(answer: ProbeAnswer): void {
    const all = [...this.open.values()];
    this.open.clear();
    for (const w of all) w.resolve(answer);
  }
}
