import { describe, expect, it } from 'vitest';
import { PieceSession, type SessionHost } from '../../../shared/pieces/piece-session.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { memoryConnectionPair } from '../../util/pieces-memory.ts';

// PieceSession.probe against a scripted remote: the answer goes to the caller, whatever it is.
function host(): SessionHost & { misbehaved: string[]; pieces: string[] } {
  const h = {
    misbehaved: [] as string[],
    pieces: [] as string[],
    now: () => Date.now(),
    readPiece: async () => undefined,
    mayServe: () => false,
    unitPieces: (unit: string) => (unit === 'manifest' ? 1 : unit === 'layer-000' ? 6 : 0),
    onMisbehaved: (_s: PieceSession, detail: string) => void h.misbehaved.push(detail),
    onPiece: (_s: PieceSession, key: string) => void h.pieces.push(key),
    onOffer: () => undefined,
    onRemoteListening: () => undefined,
    onRequestFailed: () => undefined,
    onServed: () => undefined,
    onClosed: () => undefined,
  };
  return h;
}

/** A session and its remote end, which answers each REQUEST with `answer(request)` (or stays silent). */
function scripted(answer: (r: Extract<Frame, { type: 'REQUEST' }>) => Frame | undefined) {
  const h = host();
  const [local, remote] = memoryConnectionPair('me', 'them');
  const session = new PieceSession(local, h);
  const seen: Frame[] = [];
  remote.on('frame', (f) => {
    seen.push(f);
    if (f.type !== 'REQUEST') return;
    const a = answer(f);
    if (a) void remote.send(a);
  });
  return { h, session, seen, remote };
}

const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('PieceSession.probe', () => {
  it('hands a ranged PIECE to the caller, not to the host', async () => {
    const { h, session, seen } = scripted((r) => ({
      type: 'PIECE',
      requestId: r.requestId,
      unit: r.unit,
      piece: r.piece,
      offset: r.offset,
      data: bytes(r.length, 7),
    }));
    const p = session.probe('layer-000', 2, 1000, 64);
    expect(await p.answer).toEqual({ kind: 'data', data: bytes(64, 7) });
    expect(seen[0]).toMatchObject({ type: 'REQUEST', unit: 'layer-000', piece: 2, offset: 1000, length: 64 });
    expect(h.pieces).toEqual([]);
    expect(h.misbehaved).toEqual([]);
  });

  it('reports a REJECT with its reason, and an answer for another offset or longer than asked as invalid', async () => {
    const rejecting = scripted((r) => ({
      type: 'REJECT',
      requestId: r.requestId,
      unit: r.unit,
      piece: r.piece,
      offset: r.offset,
      length: r.length,
      reason: 'missing',
    }));
    expect(await rejecting.session.probe('layer-000', 1, 0, 64).answer).toEqual({ kind: 'rejected', reason: 'missing' });
    const shifted = scripted((r) => ({ type: 'PIECE', requestId: r.requestId, unit: r.unit, piece: r.piece, offset: r.offset + 1, data: bytes(r.length, 1) }));
    expect(await shifted.session.probe('layer-000', 1, 8, 64).answer).toMatchObject({ kind: 'invalid' });
    const long = scripted((r) => ({ type: 'PIECE', requestId: r.requestId, unit: r.unit, piece: r.piece, offset: r.offset, data: bytes(r.length + 1, 1) }));
    expect(await long.session.probe('layer-000', 1, 8, 64).answer).toMatchObject({ kind: 'invalid' });
    expect(shifted.h.misbehaved).toEqual([]);
  });

  it('ends with timeout (and a CANCEL) when given up, and unreachable when the connection closes', async () => {
    const silent = scripted(() => undefined);
    const p = silent.session.probe('layer-000', 3, 0, 64);
    p.end();
    expect(await p.answer).toEqual({ kind: 'timeout' });
    await new Promise((r) => setTimeout(r, 5));
    expect(silent.seen.map((f) => f.type)).toEqual(['REQUEST', 'CANCEL']);
    const q = silent.session.probe('layer-000', 4, 0, 64);
    silent.remote.close('gone');
    expect(await q.answer).toEqual({ kind: 'unreachable' });
    expect(await silent.session.probe('layer-000', 4, 0, 64).answer).toEqual({ kind: 'unreachable' });
  });

  it('a ranged PIECE that answers no probe stays out of the store path: dropped as unsolicited', async () => {
    const { h, session, remote } = scripted(() => undefined);
    await remote.send({ type: 'PIECE', requestId: 99, unit: 'layer-000', piece: 0, offset: 10, data: bytes(64, 1) });
    await new Promise((r) => setTimeout(r, 5));
    expect(session.dropped).toEqual({ 'unsolicited-piece': 1 });
    expect(h.pieces).toEqual([]);
  });
});
