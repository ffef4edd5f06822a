// Two headless Chromium pages exchange frames over a WebRTC data channel. In a lo-only namespace a
// browser gathers no usable host candidate of its own, so the pages get a loopback STUN server
// (test utility) through the page's `ice` URL parameter — configuration, never a default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startLoopbackStunServer } from '../../util/loopback-stun-server.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';
import { patternBytes, sha256Hex } from '../../util/transfer-pattern.ts';
import { ensureTestWebBuild, launchWebRtcChromium, openPeerPage } from '../../util/webrtc-chromium.ts';

const MiB = 1024 * 1024;

describe('browser ↔ browser data channel', () => {
  let signaling: SignalingProcess;
  let browser: Browser;
  let stun: Awaited<ReturnType<typeof startLoopbackStunServer>>;

  beforeAll(async () => {
    signaling = await startSignalingProcess({ port: await freePort(), staticDir: ensureTestWebBuild() });
    stun = await startLoopbackStunServer();
    browser = await launchWebRtcChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stun?.close();
    await signaling?.stop();
  });

  it('exchanges 4 MiB each way intact', async () => {
    const query = `room=bb&ice=${encodeURIComponent(stun.url)}`;
    const one = await openPeerPage(browser, signaling.httpUrl, query);
    const two = await openPeerPage(browser, signaling.httpUrl, query);
    await one.page.evaluate((to) => window.ringmesh!.connect(to), two.peerId);

    const [a, b] = await Promise.all([
      one.page.evaluate((to) => window.ringmesh!.sendPattern(to, 'ab', 4 * 1024 * 1024, 21), two.peerId),
      two.page.evaluate((to) => window.ringmesh!.sendPattern(to, 'ba', 4 * 1024 * 1024, 22), one.peerId),
    ]);
    expect(a.sha256).toBe(sha256Hex(patternBytes(4 * MiB, 21)));
    const atTwo = await two.page.waitForFunction(() => window.ringmesh!.received['ab'], undefined, { timeout: 60_000 });
    const atOne = await one.page.waitForFunction(() => window.ringmesh!.received['ba'], undefined, { timeout: 60_000 });
    expect(await atTwo.jsonValue()).toEqual({ from: one.peerId, bytes: 4 * MiB, sha256: a.sha256 });
    expect(await atOne.jsonValue()).toEqual({ from: two.peerId, bytes: 4 * MiB, sha256: b.sha256 });
  });
});
