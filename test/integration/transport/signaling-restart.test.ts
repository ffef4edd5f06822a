// Acceptance 3: the signaling server is killed and restarted mid-transfer; the data channel does
// not depend on it, so the transfer completes intact, and afterwards both peers are registered
// again (same ids: the server restarts with the same resume secret).
import { afterAll, describe, expect, it } from 'vitest';
import { PeerProcess, type PeerEvent } from '../../util/peer-process.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';

const PEER = 'test/util/node-transport-peer.ts';
const MiB = 1024 * 1024;

describe('signaling outage during a transfer', () => {
  const peers: PeerProcess[] = [];
  let signaling: SignalingProcess | undefined;

  afterAll(async () => {
    for (const p of peers) p.kill();
    await signaling?.stop();
  });

  it('completes the transfer across a kill and restart, then re-registers both peers', async () => {
    const port = await freePort();
    const resumeSecret = 'restart-test-secret';
    signaling = await startSignalingProcess({ port, resumeSecret });
    const a = PeerProcess.start('a', PEER, [signaling.url, 'restart']);
    const b = PeerProcess.start('b', PEER, [signaling.url, 'restart']);
    peers.push(a, b);
    const isWelcome = (e: PeerEvent): boolean => e.event === 'welcome';
    const idA = (await a.waitFor(isWelcome, 30_000, 'welcome')).peerId as string;
    const idB = (await b.waitFor(isWelcome, 30_000, 'welcome')).peerId as string;

    a.command({ cmd: 'send', to: idB, tag: 'big', bytes: 24 * MiB, seed: 7, pauseAt: [8 * MiB, 16 * MiB] });
    await a.waitFor((e) => e.event === 'paused' && e.at === 8 * MiB, 60_000, 'first pause');

    const [markA, markB] = [a.mark(), b.mark()];
    await signaling.kill();
    signaling = undefined;
    await a.waitFor((e) => e.event === 'state' && e.state === 'reconnecting', 30_000, 'a reconnecting', markA);
    await b.waitFor((e) => e.event === 'state' && e.state === 'reconnecting', 30_000, 'b reconnecting', markB);

    a.command({ cmd: 'resume', tag: 'big' }); // the second third flows with no signaling server at all
    await a.waitFor((e) => e.event === 'paused' && e.at === 16 * MiB, 60_000, 'second pause');

    signaling = await startSignalingProcess({ port, resumeSecret });
    a.command({ cmd: 'resume', tag: 'big' });
    const sent = await a.waitFor((e) => e.event === 'sent' && e.tag === 'big', 60_000, 'sent');
    const got = await b.waitFor((e) => e.event === 'received' && e.tag === 'big', 60_000, 'received');
    expect(got.sha256).toBe(sent.sha256);
    expect(got.bytes).toBe(24 * MiB);

    const againA = await a.waitFor(isWelcome, 60_000, 'a welcome again', markA);
    const againB = await b.waitFor(isWelcome, 60_000, 'b welcome again', markB);
    expect([againA.peerId, againB.peerId]).toEqual([idA, idB]);
    expect(againA.resumed && againB.resumed).toBe(true);

    for (const p of peers) p.command({ cmd: 'close' });
    for (const p of peers) expect(await p.exited).toEqual({ code: 0, signal: null });
  });
});
