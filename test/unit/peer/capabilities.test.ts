// What a peer announces (shared/peer/capabilities.ts): the same shape for a Node peer and a tab.
import { describe, expect, it } from 'vitest';
import { peerCapabilities } from '../../../shared/peer/capabilities.ts';
import { capabilitiesSchema } from '../../../shared/signaling/protocol.ts';

describe('peerCapabilities', () => {
  it('announces no memory, no speed and no direct links unless given, and wants only its model', () => {
    const caps = peerCapabilities({ kind: 'node', engine: 'cpu', modelId: 'm1' });
    expect(caps).toEqual({ kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: ['m1'] });
    expect(capabilitiesSchema.parse(caps)).toEqual(caps);
  });

  it('carries memory, speed and direct links when given', () => {
    const caps = peerCapabilities({ kind: 'node', engine: 'cuda', modelId: 'm1', memoryBytes: 1024, speedMsPerLayer: 2.5, directLinks: true });
    expect(caps).toMatchObject({ memoryBytes: 1024, speedMsPerLayer: 2.5, directLinks: true });
    expect(capabilitiesSchema.parse(caps)).toEqual(caps);
  });

  it('leaves directLinks out when false (the field is only ever true on the wire)', () => {
    expect(peerCapabilities({ kind: 'browser', engine: 'wasm', modelId: 'm', directLinks: false })).not.toHaveProperty('directLinks');
  });
});
