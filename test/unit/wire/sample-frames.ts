// One representative frame of every type, shared by the codec and chunking tests.
import { asSessionId } from '../../../shared/ids.ts';
import type { Frame, FrameTypeName } from '../../../shared/wire/index.ts';

const session = asSessionId('s-1');

export const SAMPLE_FRAMES: { [T in FrameTypeName]: Extract<Frame, { type: T }> } = {
  BITFIELD: { type: 'BITFIELD', requestId: 0, unit: 'layer-003', pieceCount: 11, bits: new Uint8Array([0b1010_0000, 0b0110_0000]) },
  HAVE: { type: 'HAVE', requestId: 0, unit: 'embed', piece: 7 },
  REQUEST: { type: 'REQUEST', requestId: 42, unit: 'layer-000', piece: 3, offset: 65536, length: 1048576 },
  PIECE: { type: 'PIECE', requestId: 42, unit: 'layer-000', piece: 3, offset: 65536, data: new Uint8Array([1, 2, 3, 4, 5]) },
  REJECT: { type: 'REJECT', requestId: 42, unit: 'layer-000', piece: 3, offset: 0, length: 4, reason: 'busy' },
  CANCEL: { type: 'CANCEL', requestId: 42, unit: 'head', piece: 0, offset: 0, length: 4194304 },
  ACTIVATION: {
    type: 'ACTIVATION',
    requestId: 0,
    session,
    step: 5,
    epoch: 2,
    tensor: { dtype: 'fp16', shape: [1, 2, 3], data: new Uint8Array(12).map((_, i) => i) },
  },
  TOKEN: { type: 'TOKEN', requestId: 0, session, step: 5, tokenId: 50256, logprob: -0.125 },
  SESSION_END: { type: 'SESSION_END', requestId: 0, session, reason: 'cancelled' },
  SESSION_INIT: {
    type: 'SESSION_INIT',
    requestId: 0,
    session,
    replyTo: 'peer-a',
    maxTokens: 64,
    stop: [1, 2],
    temperature: 0.7,
    topP: 0.9,
    topK: 40,
    seed: 12345,
  },
  PING: { type: 'PING', requestId: 1, sentAt: 1234.5 },
  PONG: { type: 'PONG', requestId: 1, pingSentAt: 1234.5, sentAt: 99.25 },
  CREDIT: { type: 'CREDIT', requestId: 0, bytes: 65536 },
};
