// Acceptance 3 (Node half): a signaling server and three Node peers, each its own process, form a
// full mesh over WebRTC on loopback and exchange frames whose checksums match; then the peers
// close and their processes exit on their own (no leaked native handles).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerProcess, type PeerEvent } from '../../util/peer-process.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';

const PEER = 'test/util/node-transport-peer.ts';
const isWelcome = (e: PeerEvent): boolean => e.event === 'welcome';

describe('Node peers over WebRTC', () => {
  let signaling: SignalingProcess;
  const peers: PeerProcess[] = [];

  beforeAll(async () => {
    signaling = await startSignalingProcess({ port: await freePort() });
  });
  afterAll(async () => {
    for (const p of peers) p.kill();
    await signaling?.stop();
  });

  it('three processes form a full mesh and exchange frames with matching checksums', async () => {
    for (const name of ['a', 'b', 'c']) peers.push(PeerProcess.start(name, PEER, [signaling.url, 'mesh']));
    const ids: string[] = [];
    for (const p of peers) ids.push((await p.waitFor(isWelcome, 30_000, 'welcome')).peerId as string);

    // Everyone dials everyone at once: exercises glare resolution as well as plain dialling.
    for (const [i, p] of peers.entries()) for (const [j, id] of ids.entries()) if (i !== j) p.command({ cmd: 'connect', to: id });
    for (const p of peers) {
      for (const id of ids) {
        if (id === ids[peers.indexOf(p)]) continue;
        await p.waitFor((e) => e.event === 'connected' && e.peer === id, 60_000, `connection to ${id}`);
      }
    }

    const transfers: Array<{ from: number; to: number; tag: string }> = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) transfers.push({ from: i, to: j, tag: `t${i}${j}` });
    for (const [k, t] of transfers.entries()) {
      peers[t.from]!.command({ cmd: 'send', to: ids[t.to], tag: t.tag, bytes: 3 * 1024 * 1024 + k * 1001, seed: 100 + k, frameBytes: 1 << 20 });
    }
    for (const t of transfers) {
      const sent = await peers[t.from]!.waitFor((e) => e.event === 'sent' && e.tag === t.tag, 60_000, `sent ${t.tag}`);
      const got = await peers[t.to]!.waitFor((e) => e.event === 'received' && e.tag === t.tag, 60_000, `received ${t.tag}`);
      expect(got.from).toBe(ids[t.from]);
      expect(got.bytes).toBe(sent.bytes);
      expect(got.sha256).toBe(sent.sha256);
    }

    for (const p of peers) p.command({ cmd: 'close' });
    for (const p of peers) {
      const exit = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
      expect(exit, `${p.name} exits by itself after close`).toEqual({ code: 0, signal: null });
    }
  });
});
