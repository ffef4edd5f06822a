import { describe, expect, it } from 'vitest';
import type { PeerMisbehavedError } from '../../../shared/pieces/errors.ts';
import { MAX_VIOLATIONS, PieceSession, type SessionHost } from '../../../shared/pieces/piece-session.ts';
import { MAX_QUEUED_REQUESTS } from '../../../shared/pieces/serve-queue.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import { ProtocolViolationError } from '../../../shared/transport/errors.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { InvalidFrameError } from '../../../shared/wire/errors.ts';
import { MemoryOrigin, memoryConnectionPair, memorySwarm } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

const PIECE = 64 * 1024;

/** A host whose manifest has layer-000 (6 pieces) once `known`; records what the session tells it. */
function testHost(): SessionHost & { known: boolean; misbehaved: string[]; offers: number } {
  const h = {
    known: true,
    misbehaved: [] as string[],
    offers: 0,
    now: () => Date.now(),
    readPiece: () => new Promise<Uint8Array | undefined>(() => undefined), // a slow store: requests queue up
    mayServe: (unit: string) => unit === 'layer-000',
    unitPieces: (unit: string) => (unit === 'manifest' ? 1 : !h.known ? undefined : unit === 'layer-000' ? 6 : 0),
    onMisbehaved: (_s: PieceSession, detail: string) => void h.misbehaved.push(detail),
    onOffer: () => void h.offers++,
    onRemoteListening: () => undefined,
    onPiece: () => undefined,
    onRequestFailed: () => undefined,
    onServed: () => undefined,
    onClosed: () => undefined,
  };
  return h;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

/** A session on `victim`'s side and the hostile end that feeds it frames. */
function sessionWithHostile(host: SessionHost) {
  const [toHostile, toVictim] = memoryConnectionPair('victim', 'hostile');
  const session = new PieceSession(toHostile, host);
  const sent: Frame[] = [];
  toVictim.on('frame', (f) => sent.push(f));
  const send = async (...frames: Frame[]): Promise<void> => {
    for (const f of frames) await toVictim.send(f);
    await tick();
  };
  return { session, send, sentToHostile: sent, conn: toHostile };
}

describe('PieceSession against a hostile peer', () => {
  it('drops and counts offers and requests the manifest does not allow; the 16th violation drops the peer', async () => {
    const host = testHost();
    const { session, send } = sessionWithHostile(host);
    await send({ type: 'HAVE', requestId: 0, unit: 'layer-000', piece: 6 });
    await send({ type: 'BITFIELD', requestId: 0, unit: 'layer-000', pieceCount: 4000, bits: new Uint8Array(500) });
    await send({ type: 'REQUEST', requestId: 1, unit: 'ghost', piece: 0, offset: 0, length: 10 });
    await send({ type: 'HAVE', requestId: 0, unit: 'layer-000', piece: 5 }); // a valid one among them
    expect(session.dropped).toEqual({ 'piece-out-of-range': 1, 'bitfield-length': 1, 'unknown-unit': 1 });
    expect([...session.has]).toEqual(['layer-000#5']);
    expect(host.misbehaved).toEqual([]);
    for (let i = 3; i < MAX_VIOLATIONS; i++) await send({ type: 'HAVE', requestId: 0, unit: 'ghost', piece: i });
    expect(host.misbehaved).toHaveLength(1);
    expect(host.misbehaved[0]).toMatch(/16 invalid piece frames/);
  });

  it('keeps offers made before the manifest, bounded, and checks them once it is known', async () => {
    const host = testHost();
    host.known = false;
    const { session, send } = sessionWithHostile(host);
    await send(
      { type: 'BITFIELD', requestId: 0, unit: 'layer-000', pieceCount: 6, bits: new Uint8Array([0b1010_0000]) },
      { type: 'HAVE', requestId: 0, unit: 'layer-000', piece: 5 },
      { type: 'HAVE', requestId: 0, unit: 'ghost', piece: 1 },
    );
    expect([...session.has]).toEqual([]); // nothing known to hold them against yet
    host.known = true;
    expect([...session.has].sort()).toEqual(['layer-000#0', 'layer-000#2', 'layer-000#5']);
    await tick();
    expect(session.dropped).toEqual({ 'unknown-unit': 1 });
  });

  it('answers REQUESTs beyond its serve queue with REJECT busy, counted', async () => {
    const host = testHost();
    const { session, send, sentToHostile } = sessionWithHostile(host);
    const n = MAX_QUEUED_REQUESTS + 40;
    await send(...Array.from({ length: n }, (_, i): Frame => ({ type: 'REQUEST', requestId: i + 1, unit: 'layer-000', piece: 0, offset: 0, length: 10 })));
    // One is being read (the store never answers), MAX_QUEUED_REQUESTS wait, the rest are refused.
    expect(session.dropped['serve-queue-full']).toBe(n - 1 - MAX_QUEUED_REQUESTS);
    expect(sentToHostile.filter((f) => f.type === 'REJECT' && f.reason === 'busy')).toHaveLength(n - 1 - MAX_QUEUED_REQUESTS);
  });

  it('reports a link closed for malformed bytes as misbehaviour', () => {
    const host = testHost();
    const { conn } = sessionWithHostile(host);
    conn.emit('close', { reason: 'protocol violation', error: new ProtocolViolationError(conn.remotePeerId, { cause: new InvalidFrameError('bad') }) });
    expect(host.misbehaved).toEqual(['protocol violation (InvalidFrameError: bad)']);
  });
});

describe('PieceSwarm with a hostile connection', () => {
  it('drops (and bans) a peer that keeps sending offers for pieces that do not exist; an honest peer completes', async () => {
    const pkg = await buildSyntheticPackage({ layers: 1, unitBytes: 3 * PIECE, pieceSize: PIECE, seed: 61 });
    const mk = (id: string, seed: boolean): PieceSwarm => memorySwarm(id, pkg.modelId, seed ? { localPackage: new MemoryOrigin(pkg.files, PIECE) } : {});
    const seed = mk('seed', true);
    await seed.start();
    await seed.ready;
    const dropped: PeerMisbehavedError[] = [];
    seed.on('peer-dropped', (e) => dropped.push(e));
    const [seedToHostile, hostile] = memoryConnectionPair('seed', 'hostile');
    seed.setMembers(['hostile', 'honest']);
    seed.addConnection(seedToHostile);
    for (let i = 0; i < MAX_VIOLATIONS; i++) await hostile.send({ type: 'HAVE', requestId: 0, unit: 'layer-000', piece: 100 + i });
    await tick();
    expect(dropped.map((e) => e.peer)).toEqual(['hostile']);
    expect(hostile.closed).toBe(true);

    const honest = mk('honest', false);
    honest.setMembers(['seed']);
    await honest.start();
    const [a, b] = memoryConnectionPair('seed', 'honest');
    seed.addConnection(a);
    honest.addConnection(b);
    await honest.ready;
    expect(honest.progress()).toMatchObject({ bytesDone: pkg.bytes, fromPeers: pkg.bytes });
    seed.close();
    honest.close();
  });
});
