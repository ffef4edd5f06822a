// What rests on member claims, against the real server over loopback: roles and memory caps,
// model reports checked against the room's model, report caps, per-address caps, the address
// stamped on direct-link members.
import { describe, expect, it } from 'vitest';
import { MODEL_REPORT, type PlannedRing } from '../../../shared/ring/ring-plan.ts';
import { CLOSE_CODES } from '../../../shared/signaling/close-codes.ts';
import { mintJoinToken } from '../../../signaling/join-token.ts';
import { createRingPlanHook, REPLAN_REPORT_KINDS } from '../../../signaling/plan-hook.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';
import { CAPS, serverPerTest, type RawClient } from './helpers.ts';

const GiB = 2 ** 30;
const { start, connect } = serverPerTest();

async function manifest(seed: number): Promise<{ modelId: string; manifest: unknown }> {
  const pkg = await buildSyntheticPackage({ layers: 4, unitBytes: 4096, pieceSize: 1024, seed });
  return { modelId: pkg.modelId, manifest: JSON.parse(new TextDecoder().decode(pkg.files.get('manifest.json'))) as unknown };
}

describe('member roles and memory caps', () => {
  it('takes role and memory cap from the join token and caps claims per kind', async () => {
    const secret = 'claims-secret';
    const { url } = await start({ tokenSecret: secret });
    const t = await connect(url);
    const wt = await t.hello('r', {
      token: mintJoinToken({ secret, room: 'r', role: 'trusted', mem: 4 * GiB }),
      capabilities: { ...CAPS, memoryBytes: 64 * GiB },
    });
    const c = await connect(url);
    const wc = await c.hello('r', {
      token: mintJoinToken({ secret, room: 'r' }),
      capabilities: { ...CAPS, kind: 'browser', engine: 'webgpu', memoryBytes: 2 ** 50 },
    });
    const byId = new Map(wc.members.map((m) => [m.peerId, m]));
    expect(byId.get(wt.peerId)).toMatchObject({ role: 'trusted', capabilities: { memoryBytes: 4 * GiB } });
    expect(byId.get(wc.peerId)).toMatchObject({ role: 'contributor', capabilities: { memoryBytes: 16 * GiB } });
  });

  it('gives members of an open server the open role (default contributor)', async () => {
    const open = await start();
    const a = await connect(open.url);
    expect((await a.hello('r')).members[0]).toMatchObject({ role: 'contributor' });
    const trusting = await start({ openRole: 'trusted', memoryCaps: { node: 2 * GiB } });
    const b = await connect(trusting.url);
    expect((await b.hello('r')).members[0]).toMatchObject({ role: 'trusted', capabilities: { memoryBytes: GiB } });
    const big = await connect(trusting.url);
    const wb = await big.hello('r', { capabilities: { ...CAPS, memoryBytes: 2 ** 50 } });
    expect(wb.members.find((m) => m.peerId === wb.peerId)?.capabilities.memoryBytes).toBe(2 * GiB);
  });

  it('stamps the client address on members that make direct links, and only on them', async () => {
    const { url } = await start();
    const d = await connect(url);
    const wd = await d.hello('r', { capabilities: { ...CAPS, directLinks: true } });
    const p = await connect(url, { localAddress: '127.0.0.2' });
    const wp = await p.hello('r');
    const byId = new Map(wp.members.map((m) => [m.peerId, m]));
    expect(byId.get(wd.peerId)?.address).toBe('127.0.0.1');
    expect(byId.get(wp.peerId)?.address).toBeUndefined();
  });
});

describe('model reports', () => {
  it('plans the room model from its manifest; a report for another manifest is refused and changes nothing', async () => {
    const room = await manifest(11);
    const other = await manifest(12);
    const { url } = await start({ plan: createRingPlanHook(), replanOnReports: REPLAN_REPORT_KINDS });
    const honest = await connect(url);
    await honest.hello(room.modelId);
    const mallory = await connect(url);
    const wm = await mallory.hello(room.modelId);
    await honest.next('peer-joined', (m) => m.peers.some((p) => p.peerId === wm.peerId));
    // First to report, and another model (valid manifest) / the room's id on another manifest / a made-up shape.
    mallory.send({ type: 'report', epoch: 2, kind: MODEL_REPORT, data: other });
    expect(await mallory.next('error')).toMatchObject({ code: 'model-refused', field: 'data' });
    mallory.send({ type: 'report', epoch: 2, kind: MODEL_REPORT, data: { modelId: room.modelId, manifest: other.manifest } });
    expect(await mallory.next('error')).toMatchObject({ code: 'model-refused', message: expect.stringMatching(/hashes to/) });
    mallory.send({
      type: 'report',
      epoch: 2,
      kind: MODEL_REPORT,
      data: { modelId: room.modelId, shape: { numLayers: 1, bytesPerLayer: 1, embedBytes: 0, headBytes: 0, kvBytesPerTokenPerLayer: 0, contextTokens: 1 } },
    });
    expect(await mallory.next('error')).toMatchObject({ code: 'model-refused' });
    honest.send({ type: 'report', epoch: 2, kind: MODEL_REPORT, data: { ...room, contextTokens: 128 } });
    // The room gets the verified small form, never the manifest, and the plan for the room's model.
    const relayed = await mallory.next('report', (r) => r.kind === MODEL_REPORT);
    expect(relayed.data).toEqual({ modelId: room.modelId, shape: expect.objectContaining({ numLayers: 4, contextTokens: 128 }) });
    const plan = await honest.next('plan', (p) => (p.plan as PlannedRing | undefined)?.kind === 'planned');
    expect(plan.plan).toMatchObject({ modelId: room.modelId, numLayers: 4 });
  });

  it('lets only a model report be larger than maxMessageBytes', async () => {
    const room = await manifest(13);
    const { url } = await start({ limits: { maxMessageBytes: 1024 } });
    const a = await connect(url);
    await a.hello(room.modelId);
    a.send({ type: 'report', epoch: 1, kind: MODEL_REPORT, data: room });
    expect(await a.next('report', (r) => r.kind === MODEL_REPORT)).toMatchObject({ data: { modelId: room.modelId } });
    a.send({ type: 'report', epoch: 1, kind: 'ready', data: 'x'.repeat(4096) });
    expect((await a.closed).code).toBe(CLOSE_CODES.messageTooBig);
  });
});

describe('report caps', () => {
  it('refuses reports over the kind, byte and rate caps, then closes a member that keeps trying (1008)', async () => {
    const { url } = await start({ limits: { maxReportKinds: 2, maxReportBytes: 64, maxStrikes: 4, reportBurst: 1000 } });
    const a = await connect(url);
    const b = await connect(url);
    await a.hello('r');
    await b.hello('r');
    a.send({ type: 'report', epoch: 1, kind: 'k1', data: 1 });
    a.send({ type: 'report', epoch: 1, kind: 'k2', data: 2 });
    a.send({ type: 'report', epoch: 1, kind: 'k3', data: 3 });
    expect(await a.next('error')).toMatchObject({ code: 'report-refused', message: expect.stringMatching(/at most 2 report kinds/) });
    a.send({ type: 'report', epoch: 1, kind: 'k1', data: 'x'.repeat(100) });
    expect(await a.next('error')).toMatchObject({ code: 'report-refused', message: expect.stringMatching(/64-byte limit/) });
    // b saw the two accepted reports and none of the refused ones.
    expect((await b.next('report', (r) => r.kind === 'k1')).data).toBe(1);
    expect((await b.next('report', (r) => r.kind === 'k2')).data).toBe(2);
    for (let i = 0; i < 10; i++) a.send({ type: 'report', epoch: 1, kind: `z${i}`, data: i });
    expect((await a.closed).code).toBe(CLOSE_CODES.policyViolation);
  });
});

describe('per-address caps', () => {
  it('closes connections over the per-address cap with 4429; another address still joins', async () => {
    const srv = await start({ limits: { maxConnectionsPerAddress: 3 } });
    const url = srv.url;
    const held: RawClient[] = [];
    for (let i = 0; i < 3; i++) held.push(await connect(url));
    const over = await connect(url);
    expect(await over.closed).toEqual({ code: CLOSE_CODES.addressLimit, reason: 'too many connections from this address' });
    const other = await connect(url, { localAddress: '127.0.0.2' });
    expect(await other.hello('r')).toMatchObject({ type: 'welcome' });
    // A slot frees when a connection closes.
    held[0]?.close();
    await held[0]?.closed;
    await expect.poll(() => srv.stats().connections).toBe(3);
    expect(await (await connect(url)).hello('r')).toMatchObject({ type: 'welcome' });
  });

  it('refuses a room beyond the per-address room cap with 4429', async () => {
    const { url } = await start({ limits: { maxRoomsPerAddress: 2 } });
    await (await connect(url)).hello('r1');
    await (await connect(url)).hello('r2');
    await (await connect(url)).hello('r2');
    const c = await connect(url);
    c.send({ type: 'hello', v: 1, room: 'r3', capabilities: CAPS });
    expect(await c.next('error')).toMatchObject({ code: 'address-limit', field: 'room' });
    expect((await c.closed).code).toBe(CLOSE_CODES.addressLimit);
  });

  it('counts the last X-Forwarded-For entry as the address behind a trusted proxy', async () => {
    const { url } = await start({ trustProxy: true, limits: { maxConnectionsPerAddress: 1 } });
    const a = await connect(url, { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' } });
    const wa = await a.hello('r', { capabilities: { ...CAPS, directLinks: true } });
    expect(wa.members[0]?.address).toBe('203.0.113.1');
    const b = await connect(url, { headers: { 'x-forwarded-for': '203.0.113.2' } });
    expect(await b.hello('r')).toMatchObject({ type: 'welcome' });
    const again = await connect(url, { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' } });
    expect((await again.closed).code).toBe(CLOSE_CODES.addressLimit);
  });
});
