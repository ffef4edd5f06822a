import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMessage, parseClientMessage, parseServerMessage } from '../../../shared/signaling/message-codec.ts';
import { SignalingJsonError, SignalingProtocolError, SignalingSchemaError, SignalingVersionError } from '../../../shared/signaling/errors.ts';
import { PROTOCOL_VERSION } from '../../../shared/signaling/protocol.ts';

const caps = { kind: 'browser', engine: 'webgpu', memoryBytes: 4_000_000_000, speedMsPerLayer: 1.5, modelsHeld: ['ab'], modelsWanted: [] };
const hello = { type: 'hello', v: PROTOCOL_VERSION, room: 'model-1', capabilities: caps };

function fieldOf(text: string): string | undefined {
  const r = parseClientMessage(text);
  if (r.ok) throw new Error('expected a rejection');
  expect(r.error).toBeInstanceOf(SignalingSchemaError);
  return r.error.field;
}

describe('signaling codec: client frames', () => {
  it('accepts every client message type', () => {
    const messages = [
      hello,
      { ...hello, token: 't', resume: { peerId: 'p1', token: 'r' } },
      { type: 'signal', to: 'p2', data: { sdp: 'v=0', type: 'offer' } },
      { type: 'heartbeat' },
      { type: 'heartbeat', nonce: 7 },
      { type: 'leave' },
      { type: 'report', epoch: 3, kind: 'ready', data: { range: [0, 4] } },
    ];
    for (const m of messages) {
      const r = parseClientMessage(JSON.stringify(m));
      expect(r.ok, JSON.stringify(m)).toBe(true);
      if (r.ok) expect(r.value).toEqual(m);
    }
  });

  it('names the offending field', () => {
    expect(fieldOf(JSON.stringify({ ...hello, capabilities: { ...caps, memoryBytes: -1 } }))).toBe('capabilities.memoryBytes');
    expect(fieldOf(JSON.stringify({ ...hello, capabilities: { ...caps, engine: 'tpu' } }))).toBe('capabilities.engine');
    expect(fieldOf(JSON.stringify({ ...hello, room: 'has space' }))).toBe('room');
    expect(fieldOf(JSON.stringify({ ...hello, capabilities: { ...caps, modelsHeld: [1] } }))).toBe('capabilities.modelsHeld.0');
    expect(fieldOf(JSON.stringify({ type: 'signal', data: 1 }))).toBe('to');
    expect(fieldOf(JSON.stringify({ type: 'report', epoch: 1.5, kind: 'ready' }))).toBe('epoch');
    expect(fieldOf(JSON.stringify({ type: 'nope' }))).toBe('type');
    expect(fieldOf(JSON.stringify([1, 2]))).toBe('type');
    expect(fieldOf('null')).toBe('type');
  });

  it('strips fields a client may not set (no spoofed "from")', () => {
    const r = parseClientMessage(JSON.stringify({ type: 'signal', to: 'p2', from: 'someone-else', data: 1 }));
    expect(r.ok && 'from' in r.value).toBe(false);
  });

  it('rejects bad JSON and other protocol versions with their own classes', () => {
    const bad = parseClientMessage('{"type":');
    expect(!bad.ok && bad.error).toBeInstanceOf(SignalingJsonError);
    const version = parseClientMessage(JSON.stringify({ ...hello, v: PROTOCOL_VERSION + 1 }));
    expect(!version.ok && version.error).toBeInstanceOf(SignalingVersionError);
    expect(!version.ok && version.error.field).toBe('v');
  });

  it('never throws on arbitrary input, only returns typed errors', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ type: 'hello', ...(v as object) })),
        ),
        (text) => {
          const r = parseClientMessage(text);
          if (!r.ok) expect(r.error).toBeInstanceOf(SignalingProtocolError);
          const s = parseServerMessage(text);
          if (!s.ok) expect(s.error).toBeInstanceOf(SignalingProtocolError);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('signaling codec: server frames', () => {
  it('round-trips every server message type', () => {
    const info = { peerId: 'p1', capabilities: caps };
    const messages = [
      { type: 'welcome', v: 1, peerId: 'p1', room: 'r', resumeToken: 'x', resumed: false, epoch: 1, members: [info], memberCount: 1, complete: true },
      { type: 'peer-joined', epoch: 2, peers: [info], memberCount: 2 },
      { type: 'peer-left', epoch: 3, peerIds: ['p1'], memberCount: 1 },
      { type: 'signal', from: 'p1', data: { candidate: 'c' } },
      { type: 'plan', epoch: 3, plan: { ring: [] } },
      { type: 'report', from: 'p1', epoch: 3, kind: 'ready' },
      { type: 'pong', nonce: 1 },
      { type: 'error', code: 'invalid-message', message: 'bad', field: 'room' },
    ] as const;
    for (const m of messages) {
      const r = parseServerMessage(encodeMessage(m as never));
      expect(r.ok && r.value).toEqual(m);
    }
  });
});
