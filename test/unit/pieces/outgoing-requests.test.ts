// Our REQUESTs to one peer: answers matched by request id, a wrong answer told apart from a late
// one, and the link's rate measured from what arrives.
import { describe, expect, it } from 'vitest';
import { OutgoingRequests } from '../../../shared/pieces/outgoing-requests.ts';
import type { FrameOf } from '../../../shared/wire/frame-types.ts';

const pieceFrame = (requestId: number, unit: string, piece: number, bytes: number, offset = 0): FrameOf<'PIECE'> => ({
  type: 'PIECE',
  requestId,
  unit,
  piece,
  offset,
  data: new Uint8Array(bytes),
});

describe('OutgoingRequests', () => {
  it('matches a PIECE to its request and measures the rate', () => {
    const r = new OutgoingRequests();
    r.add(1, 'layer-000', 3, 1000, 0);
    expect(r.keys()).toEqual(['layer-000#3']);
    expect(r.answer(pieceFrame(1, 'layer-000', 3, 1000), 500)).toEqual({ kind: 'piece', key: 'layer-000#3' });
    expect(r.throughput).toBe(2000);
    expect(r.keys()).toEqual([]);
  });

  it('tells an unsolicited PIECE from one that answers with the wrong piece or too many bytes', () => {
    const r = new OutgoingRequests();
    expect(r.answer(pieceFrame(9, 'embed', 0, 10), 1).kind).toBe('unsolicited');
    r.add(1, 'embed', 0, 10, 0);
    r.add(2, 'embed', 1, 10, 0);
    expect(r.answer(pieceFrame(1, 'embed', 5, 10), 1).kind).toBe('mismatch');
    expect(r.answer(pieceFrame(2, 'embed', 1, 11), 1).kind).toBe('mismatch');
    expect(r.throughput).toBeUndefined();
  });

  it('cancels every request for a key; expiry sees only requests old enough', () => {
    const r = new OutgoingRequests();
    r.add(1, 'head', 0, 10, 100);
    r.add(2, 'head', 1, 10, 200);
    expect(r.oldestSentAt()).toBe(100);
    expect(r.sentBy(150).map((o) => o.requestId)).toEqual([1]);
    expect(r.cancel(r.keys()[0]!).map((o) => o.requestId)).toEqual([1]);
    expect(r.isOpen(1)).toBe(false);
    expect(r.drain().map((o) => o.requestId)).toEqual([2]);
    expect(r.oldestSentAt()).toBe(Number.POSITIVE_INFINITY);
  });
});
