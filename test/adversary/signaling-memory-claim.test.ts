// A member claims 2^50 bytes of memory to be planned every layer: the claim is capped (the kind
// cap, and the operator's cap carried by its join token), so it gets its share like anyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_REPORT, type PlannedRing } from '../../shared/ring/ring-plan.ts';
import { mintJoinToken } from '../../signaling/join-token.ts';
import { buildSyntheticPackage } from '../util/pieces-package.ts';
import { CAPS, rawClient, type RawClient } from '../integration/signaling/helpers.ts';
import { startServerProcess, type ServerProcess } from './signaling-process-helper.ts';

const GiB = 2 ** 30;
const SECRET = 'adversary-secret';
const LAYERS = 12;
/** Three members, two capped alike: growth allowed 32 MiB (the server stores three member records). */
const RSS_BOUND_BYTES = 32 * 1024 * 1024;

let server: ServerProcess;
const clients: RawClient[] = [];
beforeAll(async () => {
  // One ring over every member (memory placement): each member here could hold the tiny model alone,
  // where latency placement would give each a replica ring of its own and no claim could win layers.
  server = await startServerProcess(['--token-secret', SECRET, '--placement', 'memory']);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server.stop();
});

describe('a 2^50-byte memory claim', () => {
  it('is capped, and the claimant is planned its share, not every layer', async () => {
    const pkg = await buildSyntheticPackage({ layers: LAYERS, unitBytes: 4096, pieceSize: 1024, seed: 31 });
    const room = pkg.modelId;
    const model = { modelId: room, manifest: JSON.parse(new TextDecoder().decode(pkg.files.get('manifest.json'))) as unknown };
    const join = async (address: string, token: string, memoryBytes: number) => {
      const c = await rawClient(server.url, { localAddress: address });
      clients.push(c);
      const welcome = await c.hello(room, { token, capabilities: { ...CAPS, memoryBytes } });
      return { c, peerId: welcome.peerId, welcome };
    };
    const rssBefore = server.rss();
    // The operator gives strangers contributor tokens capped at 4 GiB; its own peers are trusted.
    const mallory = await join('127.0.0.1', mintJoinToken({ secret: SECRET, room, mem: 4 * GiB }), 2 ** 50);
    const a = await join('127.0.0.2', mintJoinToken({ secret: SECRET, room, role: 'trusted' }), 4 * GiB);
    const b = await join('127.0.0.3', mintJoinToken({ secret: SECRET, room, role: 'trusted' }), 4 * GiB);
    a.c.send({ type: 'report', epoch: 1, kind: MODEL_REPORT, data: model });
    const plan = (
      await b.c.next('plan', (p) => {
        const r = p.plan as PlannedRing | undefined;
        return r?.kind === 'planned' && r.ring.length === 3;
      })
    ).plan as PlannedRing;
    // What every member (and the planner) sees of the claim.
    expect(a.welcome.members.find((p) => p.peerId === mallory.peerId)).toMatchObject({ role: 'contributor', capabilities: { memoryBytes: 4 * GiB } });
    const layersOf = (id: string): number => plan.ring.filter((s) => s.peerId === id).reduce((n, s) => n + s.end - s.start, 0);
    // Equal capped memory: about a third each (the planner may shift a layer for embed/head).
    expect(layersOf(mallory.peerId)).toBeLessThanOrEqual(LAYERS / 3 + 1);
    expect(layersOf(a.peerId) + layersOf(b.peerId)).toBeGreaterThanOrEqual((2 * LAYERS) / 3 - 1);
    expect(server.alive()).toBe(true);
    expect(server.rss() - rssBefore).toBeLessThan(RSS_BOUND_BYTES);
  });

  it('without a token cap, is cut to the per-kind cap (node: the operator --max-memory-node; browser: 16 GiB)', async () => {
    const open = await startServerProcess(['--max-memory-node', String(8 * GiB)]);
    try {
      const c = await rawClient(open.url);
      clients.push(c);
      const w = await c.hello('any-room', { capabilities: { ...CAPS, memoryBytes: 2 ** 50 } });
      expect(w.members.find((m) => m.peerId === w.peerId)).toMatchObject({ role: 'contributor', capabilities: { memoryBytes: 8 * GiB } });
      const br = await rawClient(open.url);
      clients.push(br);
      const wb = await br.hello('any-room', { capabilities: { ...CAPS, kind: 'browser', engine: 'wasm', memoryBytes: 2 ** 50 } });
      expect(wb.members.find((m) => m.peerId === wb.peerId)?.capabilities.memoryBytes).toBe(16 * GiB);
      expect(open.alive()).toBe(true);
    } finally {
      await open.stop();
    }
  });
});
