// Acceptance 3 (browser half): a headless Chromium page, served by the signaling server from
// dist/web-test (the page with its test hooks), and a Node peer process exchange 16 MiB each way over a WebRTC data channel, intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { PeerProcess } from '../../util/peer-process.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { patternBytes, sha256Hex } from '../../util/transfer-pattern.ts';
import { ensureTestWebBuild, launchWebRtcChromium, openPeerPage } from '../../util/webrtc-chromium.ts';

const MiB = 1024 * 1024;

describe('browser ↔ Node data channel', () => {
  let signaling: SignalingProcess;
  let browser: Browser;
  let node: PeerProcess;

  beforeAll(async () => {
    signaling = await startSignalingProcess({ port: await freePort(), staticDir: ensureTestWebBuild() });
    browser = await launchWebRtcChromium();
  });
  afterAll(async () => {
    node?.kill();
    await browser?.close();
    await signaling?.stop();
  });

  it('exchanges 16 MiB each way intact', async () => {
    node = PeerProcess.start('node', 'test/util/node-transport-peer.ts', [signaling.url, 'bn']);
    const nodeId = (await node.waitFor((e) => e.event === 'welcome', 30_000, 'welcome')).peerId as string;
    const { page, peerId: pageId } = await openPeerPage(browser, signaling.httpUrl, 'room=bn');

    await page.evaluate((to) => window.ringmesh!.connect(to), nodeId);
    await node.waitFor((e) => e.event === 'connected' && e.peer === pageId, 30_000, 'page connection');

    // Both directions at once, so the two send queues and reassemblers run concurrently.
    node.command({ cmd: 'send', to: pageId, tag: 'down', bytes: 16 * MiB, seed: 11 });
    const up = await page.evaluate((to) => window.ringmesh!.sendPattern(to, 'up', 16 * 1024 * 1024, 12), nodeId);

    const got = await node.waitFor((e) => e.event === 'received' && e.tag === 'up', 120_000, 'upload');
    expect(got.bytes).toBe(16 * MiB);
    expect(got.sha256).toBe(up.sha256);
    expect(up.sha256).toBe(sha256Hex(patternBytes(16 * MiB, 12)));

    const sent = await node.waitFor((e) => e.event === 'sent' && e.tag === 'down', 120_000, 'download sent');
    const down = await page.waitForFunction(() => window.ringmesh!.received['down'], undefined, { timeout: 120_000 });
    const received = (await down.jsonValue()) as { bytes: number; sha256: string; from: string };
    expect(received).toEqual({ from: nodeId, bytes: 16 * MiB, sha256: sent.sha256 });

    node.command({ cmd: 'close' });
    expect(await node.exited).toEqual({ code: 0, signal: null });
  });
});
