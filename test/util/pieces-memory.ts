// In-memory stand-ins for the piece layer's edges, for fast swarm tests: an Origin over a map of
// files that counts bytes per piece, and a connected pair of PeerConnections (frames delivered
// asynchronously, bytes copied, as a data channel would).
import type { PeerId } from '../../shared/ids.ts';
import type { ByteRange, Origin } from '../../shared/pieces/origin.ts';
import type { CloseEvent, ConnectionStats, PeerConnection, PeerConnectionEvents } from '../../shared/transport/transport.ts';
import type { Frame } from '../../shared/wire/frame-types.ts';
import { TypedEmitter } from '../../shared/util/typed-emitter.ts';
import { MemoryPieceStore } from '../../shared/pieces/memory-piece-store.ts';
import { PieceSwarm } from '../../shared/pieces/piece-swarm.ts';
import { withVerification } from '../../shared/pieces/with-verification.ts';
import { systemClock } from '../../shared/util/clock.ts';
import { seededRng } from './pieces-fixtures.ts';

export class MemoryOrigin implements Origin {
  readonly label = 'memory';
  readonly bytesByPiece = new Map<string, number>();
  constructor(
    private readonly files: ReadonlyMap<string, Uint8Array>,
    private readonly pieceSize: number,
  ) {}
  async read(file: string, range?: ByteRange): Promise<Uint8Array> {
    const data = this.files.get(file);
    if (!data) throw new Error(`no ${file}`);
    const r = range ?? { offset: 0, length: data.length };
    if (range) {
      const key = `${file}#${Math.floor(r.offset / this.pieceSize)}`;
      this.bytesByPiece.set(key, (this.bytesByPiece.get(key) ?? 0) + r.length);
    }
    await new Promise((res) => setTimeout(res, 1));
    return data.slice(r.offset, r.offset + r.length);
  }
  totalBytes(): number {
    return [...this.bytesByPiece.values()].reduce((a, b) => a + b, 0);
  }
}

class MemoryConnection extends TypedEmitter<PeerConnectionEvents> implements PeerConnection {
  other!: MemoryConnection;
  closed = false;
  /** Rewrites outgoing frames (a misbehaving peer in tests). */
  tamper: ((f: Frame) => Frame) | undefined;
  private sent = 0;
  constructor(readonly remotePeerId: PeerId) {
    super();
  }
  async send(frame: Frame): Promise<void> {
    if (this.closed) throw new Error('closed');
    const f = this.tamper ? this.tamper(frame) : frame;
    const copy = 'data' in f && f.data instanceof Uint8Array ? { ...f, data: f.data.slice() } : { ...f };
    this.sent += 1;
    await new Promise((r) => setTimeout(r, 0));
    if (!this.other.closed) this.other.emit('frame', copy as Frame);
  }
  async ping(): Promise<number> {
    return 0;
  }
  stats(): ConnectionStats {
    return { bytesSent: 0, bytesReceived: 0, framesSent: this.sent, framesReceived: 0, queuedBytes: 0, bufferedAmount: 0, rttMs: undefined };
  }
  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', { reason } as CloseEvent);
    this.other.close(reason);
  }
}

/** Two ends of one connection: `a` is a's view of b (remotePeerId = b) and vice versa. */
export function memoryConnectionPair(a: string, b: string): [MemoryConnection, MemoryConnection] {
  const ab = new MemoryConnection(b as PeerId);
  const ba = new MemoryConnection(a as PeerId);
  ab.other = ba;
  ba.other = ab;
  return [ab, ba];
}

/** A whole-model swarm over a verifying memory store (a seed when given its package), ticking every 20 ms. */
export function memorySwarm(id: string, modelId: string, o: { localPackage?: Origin; store?: MemoryPieceStore } = {}): PieceSwarm {
  return new PieceSwarm({
    modelId,
    store: withVerification(o.store ?? new MemoryPieceStore()),
    ...(o.localPackage ? { localPackage: o.localPackage } : {}),
    units: () => 'all',
    replicaFull: true,
    self: () => id,
    clock: systemClock,
    rng: seededRng(id.length),
    tickMs: 20,
  });
}
