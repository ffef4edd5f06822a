import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createNodeTransport } from '../../node-peer/transport/node-transport.ts';
import { asRoomId, type PeerId } from '../../shared/ids.ts';
import { MAX_VIOLATIONS } from '../../shared/pieces/piece-session.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';
import type { DataPeer } from '../../shared/transport/data-peer.ts';
import type { CloseEvent, PeerConnection, Transport } from '../../shared/transport/transport.ts';
import { splitFrame } from '../../shared/wire/chunking.ts';
import type { Frame } from '../../shared/wire/frame-types.ts';
import { createSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { writeSyntheticPackage, type SyntheticPackage } from '../util/pieces-package.ts';
import { startPeerProcess, type PeerEvent, type PeerProcess } from '../util/pieces-processes.ts';
import { bitfieldPayload, rawFrame, unitBytes } from '../util/raw-frames.ts';
import { rawWebRtcTransport } from '../util/raw-webrtc-transport.ts';

// A hostile room member (this test process, the project's own transport and codec, WebRTC over
// loopback) against a real seeding `node-peer start` process: frames a stranger controls, each
// from a fresh member since the victim bans the peer id it drops. The victim must stay up with its
// event loop answering, its memory bounded, drop every hostile link, and still serve an honest peer.
const PIECE = 256 * 1024;
/** An honest member's PINGs to the victim, every 100 ms through the attacks, are answered within this. */
const MAX_PING_MS = 1500;
/** The victim's resident memory may grow by at most this from ready to after the attacks. */
const MAX_RSS_GROWTH_BYTES = 96 * 1024 * 1024;

let dir: string;
let pkg: SyntheticPackage;
let signaling: SignalingServer;
const processes: PeerProcess[] = [];
const members: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rm-flood-'));
  pkg = await writeSyntheticPackage(join(dir, 'pkg'), { layers: 2, unitBytes: 4 * PIECE, pieceSize: PIECE, seed: 71 });
  signaling = await createSignalingServer({ port: 0 });
});
afterEach(async () => {
  for (const m of members.splice(0)) await m.close().catch(() => undefined);
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.splice(0).map((p) => p.exited));
});
afterAll(async () => {
  await signaling?.close();
  await rm(dir, { recursive: true, force: true });
});

const peerProcess = (name: string, model: string): PeerProcess => {
  const p = startPeerProcess(name, [
    '--signal',
    signaling.url,
    '--replica',
    'full',
    '--layers',
    `0:${pkg.manifest.architecture.numLayers}`,
    '--cache-dir',
    join(dir, name),
    '--model',
    model,
  ]);
  processes.push(p);
  return p;
};

function client(): SignalingClient {
  return createSignalingClient({
    url: signaling.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(pkg.modelId),
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes: 0, modelsHeld: [], modelsWanted: [pkg.modelId] },
  });
}

interface Member {
  readonly id: PeerId;
  readonly transport: Transport;
  /** The data channel under the open connection to `remote`: raw messages, bypassing the codec. */
  raw(remote: PeerId): DataPeer;
}

/** Joins the room; `raw` keeps each connection's DataPeer (a peer's `connect` fires just before its `open`). */
async function joinMember(): Promise<Member> {
  const sig = client();
  const { transport, raw } = rawWebRtcTransport(sig);
  await sig.connect();
  members.push({
    close: async () => {
      await transport.close();
      await sig.close();
    },
  });
  return { id: sig.peerId as PeerId, transport, raw };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The first connection that opens: the victim's, since members here never dial (the victim's swarm
 * dials every member), so there is one connection and no glare to replace it.
 */
function opened(transport: Transport): Promise<PeerConnection> {
  return new Promise((resolve) => {
    const off = transport.on('open', (c) => {
      off();
      resolve(c);
    });
  });
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Writes messages straight onto the link (a chunk the victim refuses closes the channel: later writes may throw). */
function writeRaw(peer: DataPeer, messages: Uint8Array[]): void {
  try {
    for (const m of messages) peer.lanes.ring.send(m);
  } catch {
    // the victim already closed the link
  }
}

interface Attack {
  readonly name: string;
  run(conn: PeerConnection, raw: DataPeer): Promise<void>;
}

const units = (): string[] => pkg.manifest.units.map((u) => u.name);
const ATTACKS: Attack[] = [
  {
    // 4 million pieces: a 500 KB bitfield, sent in 64 KiB chunks; refused at its first chunk's header.
    name: 'a BITFIELD with millions of pieces',
    run: async (_c, raw) => writeRaw(raw, splitFrame(rawFrame({ type: 'BITFIELD', payload: bitfieldPayload('layer-000', 4_000_000, 500_000, 0xff) }), 'ring')),
  },
  {
    // Within the 64 KiB control cap but claiming more pieces than any unit may have.
    name: 'a BITFIELD claiming 480,000 pieces in one message',
    run: async (_c, raw) => writeRaw(raw, [rawFrame({ type: 'BITFIELD', payload: bitfieldPayload('layer-000', 480_000, 60_000, 0xff), lane: 'ring' })]),
  },
  {
    // Well-formed frames the manifest does not allow: HAVE out of range, REQUEST for a unit that
    // does not exist, a BITFIELD of the wrong length. Each is dropped and counted; the 16th drops the peer.
    name: 'frames for pieces and units that do not exist',
    run: async (conn) => {
      const frames: Frame[] = [];
      for (let i = 0; frames.length < MAX_VIOLATIONS; i++) {
        frames.push({ type: 'HAVE', requestId: 0, unit: 'layer-000', piece: 4 + i });
        frames.push({ type: 'REQUEST', requestId: i + 1, unit: `layer-${900 + i}`, piece: 0, offset: 0, length: PIECE });
        frames.push({ type: 'BITFIELD', requestId: 0, unit: units()[i % units().length] as string, pieceCount: 4000, bits: new Uint8Array(500) });
      }
      await Promise.all(frames.map((f) => conn.send(f, 'ring').catch(() => undefined)));
    },
  },
  {
    name: 'an oversized control frame (a PING claiming 1 MiB)',
    run: async (_c, raw) => writeRaw(raw, splitFrame(rawFrame({ type: 'PING', payload: new Uint8Array(1 << 20) }), 'ring')),
  },
  {
    // A HAVE whose unit name is not UTF-8: the decoder throws.
    name: 'a frame the decoder cannot decode',
    run: async (_c, raw) => {
      const payload = new Uint8Array([...unitBytes('xx'), 0, 0, 0, 1]);
      payload.set([0xff, 0xfe], 1);
      writeRaw(raw, [rawFrame({ type: 'HAVE', payload, lane: 'ring' })]);
    },
  },
];

describe('a hostile member floods a seeding node-peer process with piece frames', () => {
  it('the victim stays up and responsive, drops every hostile link, and an honest peer still gets every piece', async () => {
    const victim = peerProcess('victim', join(dir, 'pkg'));
    const victimId = (await victim.waitFor((e) => e.event === 'joined')).peerId as PeerId;
    await victim.waitFor((e) => e.event === 'ready');

    // An honest member pings the victim throughout: a stalled event loop shows as a late PONG.
    const prober = client();
    const probe = createNodeTransport({ signaling: prober, bindAddress: '127.0.0.1' });
    await prober.connect();
    members.push({
      close: async () => {
        await probe.close();
        await prober.close();
      },
    });
    const probeConn = await within(opened(probe), 20_000, 'the victim dialing the prober');
    const rtts: number[] = [];
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        // A PING never answered counts as infinitely late (it fails the bound below, not the run).
        rtts.push(await probeConn.ping(MAX_PING_MS * 4).catch(() => Number.POSITIVE_INFINITY));
        await new Promise((r) => setTimeout(r, 100)); // pacing, not waiting for anything
      }
    })();
    const rssBefore = rssBytes(victim.child.pid as number);

    const outcomes: { attack: string; hostileSaw: string; victimSaid: string }[] = [];
    for (const attack of ATTACKS) {
      const hostile = await joinMember();
      const conn = await within(opened(hostile.transport), 20_000, 'the victim dialing the hostile member');
      const closed = new Promise<CloseEvent>((r) => conn.on('close', r));
      await attack.run(conn, hostile.raw(victimId));
      // node-datachannel sometimes reports the remote's close only once a send fails (seen ~1 in 30
      // closes here): a PING each round makes a closed link show, a PONG means it is still open.
      let awaitingClose = true;
      void (async () => {
        while (awaitingClose && !conn.closed) {
          await conn.ping(1000).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 250)); // pacing, not waiting for anything
        }
      })();
      const e = await within(closed, 20_000, `${attack.name}: the victim closing the hostile link`).finally(() => (awaitingClose = false));
      const dropped: PeerEvent = await victim.waitFor((ev) => ev.event === 'peer-dropped' && ev.peer === hostile.id, 20_000);
      outcomes.push({ attack: attack.name, hostileSaw: e.reason, victimSaid: String(dropped.message) });
      expect(hostile.transport.connection(victimId)).toBeUndefined();
      await members.splice(members.length - 1, 1)[0]?.close(); // the hostile member leaves
    }
    probing = false;
    await probeLoop;
    const rssAfter = rssBytes(victim.child.pid as number);
    console.log(
      JSON.stringify(
        { outcomes, maxPingMs: Math.max(...rtts), pings: rtts.length, rssBeforeMiB: rssBefore / 2 ** 20, rssAfterMiB: rssAfter / 2 ** 20 },
        null,
        1,
      ),
    );

    expect(victim.child.exitCode).toBeNull();
    expect(victim.child.signalCode).toBeNull();
    expect(outcomes).toHaveLength(ATTACKS.length);
    expect(outcomes[2]?.victimSaid).toMatch(/16 invalid piece frames/);
    for (const o of [0, 1, 3, 4]) expect(outcomes[o]?.victimSaid, ATTACKS[o]?.name).toMatch(/protocol violation/);
    expect(rtts.length).toBeGreaterThan(5);
    expect(Math.max(...rtts)).toBeLessThan(MAX_PING_MS);
    expect(rssAfter - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES);

    // An honest peer, from the model id alone (no origin): every piece from the victim.
    const honest = peerProcess('honest', pkg.modelId);
    const ready = await honest.waitFor((e) => e.event === 'ready', 120_000);
    expect(Number(ready.bytesDone)).toBe(pkg.bytes);
    expect(Number(ready.fromPeers)).toBe(pkg.bytes);
    expect(victim.child.exitCode).toBeNull();
  });
});
