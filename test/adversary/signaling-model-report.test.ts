// A hostile member reports another model (or made-up shapes) for the room: refused every time, the
// plan stays the room's model, and a member that keeps trying is closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_REPORT, type PlannedRing } from '../../shared/ring/ring-plan.ts';
import { CLOSE_CODES } from '../../shared/signaling/close-codes.ts';
import { buildSyntheticPackage } from '../util/pieces-package.ts';
import { CAPS, rawClient, type RawClient } from '../integration/signaling/helpers.ts';
import { startServerProcess, type ServerProcess } from './signaling-process-helper.ts';

/** The server's RSS may grow at most this much over the attack (it stores nothing the attacker sends). */
const RSS_BOUND_BYTES = 64 * 1024 * 1024;

let server: ServerProcess;
const clients: RawClient[] = [];
beforeAll(async () => {
  server = await startServerProcess(['--open-role', 'contributor']);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server.stop();
});

const manifestOf = async (seed: number, layers: number): Promise<{ modelId: string; manifest: unknown }> => {
  const pkg = await buildSyntheticPackage({ layers, unitBytes: 4096, pieceSize: 1024, seed });
  return { modelId: pkg.modelId, manifest: JSON.parse(new TextDecoder().decode(pkg.files.get('manifest.json'))) as unknown };
};

describe('a member reporting another model', () => {
  it('is refused, the plan stays the room model, and persistence gets it closed', async () => {
    const room = await manifestOf(21, 6);
    const others = await Promise.all([1, 2, 3].map((i) => manifestOf(100 + i, 1)));
    const connect = async (): Promise<RawClient> => {
      const c = await rawClient(server.url);
      clients.push(c);
      return c;
    };
    // The attacker joins first, so under the old rule its report would have decided the plan.
    const mallory = await connect();
    const wm = await mallory.hello(room.modelId, { capabilities: { ...CAPS, memoryBytes: 2 ** 40 } });
    const rssBefore = server.rss();
    const forged = [
      ...others,
      ...others.map((o) => ({ modelId: room.modelId, manifest: o.manifest })),
      { modelId: room.modelId, shape: { numLayers: 1, bytesPerLayer: 1, embedBytes: 0, headBytes: 0, kvBytesPerTokenPerLayer: 0, contextTokens: 1 } },
    ];
    for (const data of forged) {
      mallory.send({ type: 'report', epoch: wm.epoch, kind: MODEL_REPORT, data });
      expect(await mallory.next('error')).toMatchObject({ code: 'model-refused' });
    }

    const honest = await connect();
    const wh = await honest.hello(room.modelId);
    honest.send({ type: 'report', epoch: wh.epoch, kind: MODEL_REPORT, data: room });
    const plan = (await honest.next('plan', (p) => (p.plan as PlannedRing | undefined)?.kind === 'planned')).plan as PlannedRing;
    expect(plan).toMatchObject({ modelId: room.modelId, numLayers: 6 });
    expect(plan.ring.at(-1)?.end).toBe(6);

    // Keeps forging: each refusal is a strike; the member is closed with 1008 (policy).
    for (let i = 0; i < 40 && mallory.ws.readyState === mallory.ws.OPEN; i++) {
      mallory.send({ type: 'report', epoch: wm.epoch, kind: MODEL_REPORT, data: others[i % others.length] });
    }
    expect((await mallory.closed).code).toBe(CLOSE_CODES.policyViolation);
    const left = await honest.next('peer-left', (m) => m.peerIds.includes(wm.peerId));
    expect(left.memberCount).toBe(1);
    // Honest member alone: still planned for the room's model.
    const after = (await honest.next('plan', (p) => p.epoch === left.epoch)).plan as PlannedRing;
    expect(after).toMatchObject({ kind: 'planned', modelId: room.modelId, numLayers: 6, ring: [{ peerId: wh.peerId, start: 0, end: 6 }] });
    expect(server.alive()).toBe(true);
    expect(server.rss() - rssBefore).toBeLessThan(RSS_BOUND_BYTES);
  });
});
