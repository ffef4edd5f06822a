import { afterEach, describe, expect, it, vi } from 'vitest';
import { asPeerId, type PeerId } from '../../../shared/ids.ts';
import { MemoryPieceStore } from '../../../shared/pieces/memory-piece-store.ts';
import { PieceSwarm } from '../../../shared/pieces/piece-swarm.ts';
import { withVerification } from '../../../shared/pieces/with-verification.ts';
import { HoldingChallenger, type HoldingResult } from '../../../shared/ring/holding-challenger.ts';
import { HELD_REPORT } from '../../../shared/ring/readiness.ts';
import { READY_REPORT, type PlannedRing } from '../../../shared/ring/ring-plan.ts';
import { systemClock } from '../../../shared/util/clock.ts';
import type { MemberRole, PeerInfo, RelayedReportMessage } from '../../../shared/signaling/protocol.ts';
import type { SignalingClient, SignalingEvents } from '../../../shared/signaling/signaling-client.ts';
import { TypedEmitter } from '../../../shared/util/typed-emitter.ts';
import type { Frame } from '../../../shared/wire/frame-types.ts';
import { seededRng } from '../../util/pieces-fixtures.ts';
import { MemoryOrigin, memoryConnectionPair } from '../../util/pieces-memory.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

// The challenger against real piece swarms over in-memory connections; the signaling room is a
// stand-in that relays reports to every member, as the server does.
const PIECE = 4096;
const pkg = await buildSyntheticPackage({ layers: 4, unitBytes: 3 * PIECE, pieceSize: PIECE, seed: 11 });

class FakeRoom {
  readonly members = new Map<PeerId, PeerInfo>();
  readonly clients: FakeSignaling[] = [];
  readonly reports: RelayedReportMessage[] = [];
  readonly evictions: { by: PeerId; peer: PeerId; reason: string }[] = [];
  epoch = 0;

  join(id: string, role: MemberRole): FakeSignaling {
    const peerId = asPeerId(id);
    this.members.set(peerId, { peerId, role, capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 2 ** 30, modelsHeld: [], modelsWanted: [] } });
    const c = new FakeSignaling(this, peerId);
    this.clients.push(c);
    return c;
  }

  plan(ring: [string, number, number][]): number {
    const plan: PlannedRing = {
      kind: 'planned',
      modelId: pkg.modelId,
      numLayers: 4,
      ring: ring.map(([peerId, start, end]) => ({ peerId, start, end })),
      seeders: [],
    };
    this.epoch += 1;
    for (const c of this.clients) c.emit('plan', { type: 'plan', epoch: this.epoch, plan });
    return this.epoch;
  }

  relay(from: PeerId, kind: string, data: unknown): void {
    const m: RelayedReportMessage = { type: 'report', from, epoch: this.epoch, kind, data };
    this.reports.push(m);
    for (const c of this.clients) c.emit('report', m);
  }

  held(): unknown[] {
    return this.reports.filter((r) => r.kind === HELD_REPORT).map((r) => r.data);
  }
}

class FakeSignaling extends TypedEmitter<SignalingEvents> implements SignalingClient {
  readonly state = 'joined';
  readonly epoch = 0;
  constructor(
    private readonly room: FakeRoom,
    readonly peerId: PeerId,
  ) {
    super();
  }
  get members(): ReadonlyMap<PeerId, PeerInfo> {
    return this.room.members;
  }
  connect(): never {
    throw new Error('not used');
  }
  sendSignal(): void {}
  report(kind: string, data?: unknown): void {
    this.room.relay(this.peerId, kind, data);
  }
  evict(peer: PeerId, reason: string): void {
    this.room.evictions.push({ by: this.peerId, peer, reason });
  }
  async close(): Promise<void> {}
}

const swarms: PieceSwarm[] = [];
const challengers: HoldingChallenger[] = [];
afterEach(() => {
  for (const c of challengers.splice(0)) c.close();
  for (const s of swarms.splice(0)) s.close();
});

/** A swarm holding the whole package (`seed`), every piece fetched from peers (`all`) or none of the units (`none`). */
async function swarm(id: string, holds: 'seed' | 'all' | 'none'): Promise<PieceSwarm> {
  const s = new PieceSwarm({
    modelId: pkg.modelId,
    store: withVerification(new MemoryPieceStore()),
    ...(holds === 'seed' ? { localPackage: new MemoryOrigin(pkg.files, PIECE) } : {}),
    units: () => (holds === 'none' ? [] : 'all'),
    replicaFull: holds !== 'none',
    self: () => id,
    clock: systemClock,
    rng: seededRng(id.length),
    tickMs: 20,
  });
  swarms.push(s);
  await s.start();
  return s;
}

/** Connects two swarms; `tamper` rewrites what `a` sends to `b`. */
function link(a: [string, PieceSwarm], b: [string, PieceSwarm], tamper?: (f: Frame) => Frame): void {
  const [ab, ba] = memoryConnectionPair(a[0], b[0]);
  ab.tamper = tamper;
  a[1].addConnection(ab);
  b[1].addConnection(ba);
}

function challenger(room: FakeRoom, client: FakeSignaling, probe: PieceSwarm, results: HoldingResult[], policy = {}): HoldingChallenger {
  const c = new HoldingChallenger({
    modelId: pkg.modelId,
    manifest: pkg.manifest,
    signaling: client,
    probe,
    clock: systemClock,
    random: seededRng(9),
    policy: { answerTimeoutMs: 300, retryMs: 20, ...policy },
    onResult: (r) => results.push(r),
  });
  challengers.push(c);
  return c;
}

const flipPieces = (f: Frame): Frame => (f.type === 'PIECE' && f.unit !== 'manifest' ? { ...f, data: f.data.map((b) => b ^ 0x5a) } : f);

describe('HoldingChallenger', () => {
  it('proves an honest contributor, fails one that lacks its units and one that answers garbage, and asks to evict both', async () => {
    const room = new FakeRoom();
    const seedSig = room.join('seed', 'trusted');
    for (const id of ['honest', 'liar', 'garbage']) room.join(id, 'contributor');
    const seed = await swarm('seed', 'seed');
    const honest = await swarm('honest', 'all');
    const liar = await swarm('liar', 'none');
    const garbage = await swarm('garbage', 'all');
    link(['seed', seed], ['honest', honest]);
    link(['seed', seed], ['liar', liar]);
    link(['garbage', garbage], ['seed', seed], flipPieces);
    await Promise.all([seed.ready, honest.ready, liar.ready]);
    // The garbage peer fetched its copy before it started flipping what it serves: it holds the units.
    await garbage.ready;
    const results: HoldingResult[] = [];
    challenger(room, seedSig, seed, results);

    const epoch = room.plan([
      ['seed', 0, 1],
      ['honest', 1, 2],
      ['liar', 2, 3],
      ['garbage', 3, 4],
    ]);
    expect(room.held()).toEqual([{ planEpoch: epoch, proven: [], failed: [] }]); // announced at once
    for (const id of ['honest', 'liar', 'garbage']) room.clients.find((c) => c.peerId === id)!.report(READY_REPORT, { planEpoch: epoch });
    await vi.waitFor(() => expect(results).toHaveLength(3), { timeout: 5000 });

    const byPeer = new Map(results.map((r) => [r.peer, r]));
    expect(byPeer.get(asPeerId('honest'))).toMatchObject({ outcome: 'proven', epoch });
    expect(byPeer.get(asPeerId('liar'))).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/refused \(missing\)/) });
    expect(byPeer.get(asPeerId('garbage'))).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/bytes differ/) });
    expect(room.evictions.map((e) => e.peer).sort()).toEqual(['garbage', 'liar']);
    const last = room.held().at(-1) as { proven: string[]; failed: string[] };
    expect(last.proven).toEqual(['honest']);
    expect([...last.failed].sort()).toEqual(['garbage', 'liar']);
  });

  it('asks for a whole piece, checked against the manifest, when it holds none of the stage’s pieces', async () => {
    const room = new FakeRoom();
    const trustedSig = room.join('lean', 'trusted');
    room.join('honest', 'contributor');
    room.join('liar', 'contributor');
    const lean = await swarm('lean', 'none');
    const honest = await swarm('honest', 'seed');
    const liar = await swarm('liar', 'none');
    link(['lean', lean], ['honest', honest]);
    link(['lean', lean], ['liar', liar]);
    link(['honest', honest], ['liar', liar]);
    await Promise.all([lean.ready, honest.ready, liar.ready]);
    const results: HoldingResult[] = [];
    challenger(room, trustedSig, lean, results);
    const epoch = room.plan([
      ['honest', 0, 2],
      ['liar', 2, 4],
    ]);
    for (const id of ['honest', 'liar']) room.clients.find((c) => c.peerId === id)!.report(READY_REPORT, { planEpoch: epoch });
    await vi.waitFor(() => expect(results).toHaveLength(2), { timeout: 5000 });
    expect(results.find((r) => r.peer === 'honest')).toMatchObject({ outcome: 'proven', detail: expect.stringMatching(/^1 range/) });
    expect(results.find((r) => r.peer === 'liar')).toMatchObject({ outcome: 'failed' });
  });

  it('fails a stage that never answers after its rounds; gives no verdict (and evicts nobody) without a link', async () => {
    const room = new FakeRoom();
    const seedSig = room.join('seed', 'trusted');
    room.join('mute', 'contributor');
    room.join('far', 'contributor');
    const seed = await swarm('seed', 'seed');
    // A connection whose far end has no swarm listening: REQUESTs go out, nothing comes back.
    const [toMute] = memoryConnectionPair('seed', 'mute');
    seed.addConnection(toMute);
    const results: HoldingResult[] = [];
    challenger(room, seedSig, seed, results, { attempts: 2, answerTimeoutMs: 100 });
    const epoch = room.plan([
      ['seed', 0, 2],
      ['mute', 2, 3],
      ['far', 3, 4],
    ]);
    for (const id of ['mute', 'far']) room.clients.find((c) => c.peerId === id)!.report(READY_REPORT, { planEpoch: epoch });
    await vi.waitFor(() => expect(results).toHaveLength(2), { timeout: 5000 });
    expect(results.find((r) => r.peer === 'mute')).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/no answer in 2 rounds/) });
    expect(results.find((r) => r.peer === 'far')).toMatchObject({ outcome: 'unanswered', detail: expect.stringMatching(/unreachable/) });
    expect(room.evictions.map((e) => e.peer)).toEqual(['mute']);
  });

  it('does nothing as a contributor, and nothing for trusted stages or a stale epoch', async () => {
    const room = new FakeRoom();
    const contribSig = room.join('c1', 'contributor');
    const seedSig = room.join('seed', 'trusted');
    room.join('t2', 'trusted');
    const c1 = await swarm('c1', 'seed');
    const seed = await swarm('seed', 'seed');
    link(['c1', c1], ['seed', seed]);
    await Promise.all([c1.ready, seed.ready]);
    const results: HoldingResult[] = [];
    challenger(room, contribSig, c1, results);
    challenger(room, seedSig, seed, results);
    const first = room.plan([
      ['seed', 0, 2],
      ['c1', 2, 4],
    ]);
    room.plan([
      ['t2', 0, 2],
      ['seed', 2, 4],
    ]); // only trusted stages: no announcement
    room.clients.find((c) => c.peerId === 't2')!.report(READY_REPORT, { planEpoch: first + 1 });
    room.clients.find((c) => c.peerId === 'seed')!.report(READY_REPORT, { planEpoch: first + 1 });
    room.clients.find((c) => c.peerId === 'c1')!.report(READY_REPORT, { planEpoch: first }); // stale
    // The control: the same contributor, ready for the current plan, is challenged (by the seed only).
    const third = room.plan([
      ['seed', 0, 2],
      ['c1', 2, 4],
    ]);
    room.clients.find((c) => c.peerId === 'c1')!.report(READY_REPORT, { planEpoch: third });
    await vi.waitFor(() => expect(results).toHaveLength(1), { timeout: 5000 });
    expect(results).toEqual([expect.objectContaining({ peer: 'c1', epoch: third, outcome: 'proven' })]);
    expect(room.held().map((h) => (h as { planEpoch: number }).planEpoch)).toEqual([first, third, third]);
    expect(room.reports.filter((r) => r.kind === HELD_REPORT).every((r) => r.from === 'seed')).toBe(true);
    expect(room.evictions).toEqual([]);
  });
});
