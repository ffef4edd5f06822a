// Links across NAT (docs/operating.md, "Peers behind NAT: TURN"): a `node-peer start` process and
// a Chromium page, each in a network namespace of its own with every direct packet between them
// dropped (nft), reach signaling and a real TURN server (coturn) and nothing else. They form a
// ring through the relay, the ring gives run.c's ids, and `node-peer status` says the link is relayed.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../../node-peer/convert/convert-llama2c.ts';
import type { SignalingServer } from '../../../signaling/server.ts';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { modelShapeFromManifest } from '../../../shared/planner/model-shape.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { buildNatTopology, SERVER_IP, type NatTopology } from '../../util/nat-topology.ts';
import { startPeerProcess, type PeerProcess } from '../../util/pieces-processes.ts';
import { startRingSignaling } from '../../util/ring-harness.ts';
import { startRingPageServer } from '../../util/ring-page-server.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { startTurnServer, type TurnServer } from '../../util/turn-server.ts';
import { WEBRTC_CHROMIUM_ARGS } from '../../util/webrtc-chromium.ts';

const BIN = join(import.meta.dirname, '../../../bin/node-peer.js');
const TURN_PORT = 3478;
const TURN_USER = 'ringmesh';
const TURN_PASSWORD = randomBytes(9).toString('base64url');
const API_KEY = randomBytes(18).toString('base64url');
// Fewer ids than the golden run's, so no stop id falls inside them.
const TOKENS = 24;
const golden = goldenCases().find((c) => c.model === 'stories260K.bin')!;

/** One entry of status `links` (GET /status, the page's ring status; docs/operating.md). */
type LinkStatus = { readonly peer: string; readonly link?: 'webrtc' | 'tcp'; readonly relayed: boolean | null };
type RmRing = {
  state: { error?: string; events: unknown[] };
  peerId(): string;
  status(): { links?: LinkStatus[] } | undefined;
  generate(p: number[], m: number, s: number[]): Promise<number[]>;
};

const tmp = makeTempDir('turn-relay');
let net: NatTopology | undefined;
let turn: TurnServer | undefined;
let signaling: { server: SignalingServer } | undefined;
let vite: ViteDevServer | undefined;
let browser: Browser | undefined;
let node: PeerProcess | undefined;
let page: Page;
let nodeId = '';
let pageId = '';
let apiUrl = '';

/** Chromium started inside namespace B: Playwright's pipes pass through `nsenter`, which execs it. */
function chromiumIn(enter: readonly string[]): string {
  const wrapper = tmp.path('chromium-in-namespace.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${enter.join(' ')} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

beforeAll(async () => {
  net = await buildNatTopology();
  turn = await startTurnServer({ ip: SERVER_IP, port: TURN_PORT, user: TURN_USER, password: TURN_PASSWORD, realm: 'ringmesh.test', dir: tmp.dir });
  signaling = await startRingSignaling({ host: SERVER_IP });
  const pages = await startRingPageServer(SERVER_IP);
  vite = pages.vite;
  const modelDir = tmp.path('model');
  const { modelId } = await convertLlama2c(join(MODELS_DIR, golden.model), join(MODELS_DIR, golden.tokenizer), modelDir, { pieceSize: 64 * 1024 });
  // Budgets that hold an end and 3 of the 5 layers but not the whole model: a ring needs both
  // peers (one alone would be a ring of its own, docs/planner.md), so the ring crosses the relay.
  const shape = modelShapeFromManifest(JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')) as ModelManifest);
  const whole = shape.embedBytes + shape.headBytes + shape.numLayers * (shape.bytesPerLayer + shape.kvBytesPerTokenPerLayer * shape.contextTokens);
  const budget = Math.floor(whole * 0.7);

  // The Node peer in namespace A, started as docs/operating.md says: TURN given, no bind address
  // (it offers its one interface), its API on that interface with a key.
  node = startPeerProcess(
    'node',
    [
      '--signal',
      signaling.server.url,
      '--model',
      modelDir,
      '--memory',
      String(budget),
      '--fit-timeout',
      '300',
      '--cache-dir',
      tmp.path('cache'),
      '--threads',
      '1',
      '--ice-server',
      `turn:${TURN_USER}:${TURN_PASSWORD}@${SERVER_IP}:${TURN_PORT}`,
      '--api-port',
      '0',
      '--api-host',
      net.a.ip,
      '--api-key',
      API_KEY,
      '--log-format',
      'json',
    ],
    { asReadme: true, wrap: net.a.ns.enter },
  );
  apiUrl = String((await node.waitFor((e) => e.event === 'api', 60_000))['url']);
  nodeId = String((await node.waitFor((e) => e.event === 'joined', 60_000))['peerId']);

  // The page in namespace B. Its origin is not loopback, so it is declared secure (WebCrypto).
  const pageOrigin = new URL(pages.pageUrl).origin;
  browser = await chromium.launch({
    executablePath: chromiumIn(net.b.ns.enter),
    args: [...WEBRTC_CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection'), `--unsafely-treat-insecure-origin-as-secure=${pageOrigin}`],
  });
  page = await browser.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => void consoleLines.push(m.text().slice(0, 600)));
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  const query = new URLSearchParams({
    signal: signaling.server.url,
    model: modelId,
    memory: String(budget),
    ice: `turn:${SERVER_IP}:${TURN_PORT}`,
    'ice-user': TURN_USER,
    'ice-credential': TURN_PASSWORD,
  });
  await page.goto(`${pages.pageUrl}?${query}`);
  await page.waitForFunction(() => document.title !== 'loading', undefined, { timeout: 120_000 });
  const joinError = await page.evaluate(() => (globalThis as unknown as { rmRing: RmRing }).rmRing.state.error);
  const diagnostics = (): string =>
    `page console: ${consoleLines.slice(-30).join('\n')}\nnode events: ${JSON.stringify(node!.events.slice(-12))}\nnode stderr: ${node!.stderr().slice(-2000)}\nturnserver: ${turn?.log().slice(-3000) ?? ''}`;
  expect(joinError, diagnostics()).toBeUndefined();
  pageId = await page.evaluate(() => (globalThis as unknown as { rmRing: RmRing }).rmRing.peerId());

  const want = [nodeId, pageId].sort().join(',');
  await node
    .waitFor((e) => e.event === 'ring-ready' && [...(e['ring'] as string[])].sort().join(',') === want, 180_000)
    .catch(async (err: unknown) => {
      const seen = await page.evaluate(() =>
        JSON.stringify({
          status: (globalThis as unknown as { rmRing: RmRing }).rmRing.status(),
          events: (globalThis as unknown as { rmRing: RmRing }).rmRing.state.events.slice(-12),
        }),
      );
      throw new Error(`${String(err)}\npage: ${seen}\nturnserver: ${turn?.log().slice(-3000) ?? ''}`);
    });
}, 300_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  node?.kill('SIGKILL');
  await node?.exited;
  await vite?.close();
  await signaling?.server.close();
  await turn?.stop();
  net?.close();
  tmp.cleanup();
});

describe('a Node peer and a Chromium page with no direct path between them', () => {
  it("form a ring through the TURN relay that gives run.c's ids, asked from either side", async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    const models = (await (await fetch(`${apiUrl}/v1/models`, { headers: auth })).json()) as { data: { id: string }[] };
    const res = await fetch(`${apiUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ model: models.data[0]!.id, prompt: golden.prompt_ids, max_tokens: TOKENS, temperature: 0, return_token_ids: true }),
    });
    const body = (await res.json()) as { choices: { token_ids: number[] }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.choices[0]!.token_ids).toEqual(golden.generated_ids.slice(0, TOKENS));

    const ids = await page.evaluate(([prompt, max]) => (globalThis as unknown as { rmRing: RmRing }).rmRing.generate(prompt, max, []), [
      golden.prompt_ids,
      TOKENS,
    ] as [number[], number]);
    expect(ids).toEqual(golden.generated_ids.slice(0, TOKENS));

    // ICE did try the direct pairs; the firewall dropped them.
    expect(net!.droppedPackets()).toBeGreaterThan(0);
  });

  it('`node-peer status` says the link to the page is relayed, and the page says so of its link', async () => {
    // Each side asks its WebRTC stack every few seconds (docs/ring.md, "Measured links"): wait for the first answer.
    let link: LinkStatus | undefined;
    let links: unknown;
    // Until it reads relayed: while ICE still nominates, the stack may report another pair first.
    for (let i = 0; i < 30 && link?.relayed !== true; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1_000));
      const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'status', '--api', apiUrl, '--api-key', API_KEY, '--json'], { timeout: 60_000 });
      const status = JSON.parse(stdout) as { peer: { peerId: string; links?: LinkStatus[] } };
      expect(status.peer.peerId).toBe(nodeId);
      links = status.peer.links;
      link = status.peer.links?.find((l) => l.peer === pageId);
    }
    expect(link, JSON.stringify(links)).toBeDefined();
    expect(link!.link).toBe('webrtc');
    expect(link!.relayed).toBe(true);

    let fromPage: LinkStatus | undefined;
    for (let i = 0; i < 30 && fromPage?.relayed !== true; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1_000));
      fromPage = await page.evaluate((id) => (globalThis as unknown as { rmRing: RmRing }).rmRing.status()?.links?.find((l) => l.peer === id), nodeId);
    }
    expect(fromPage?.relayed).toBe(true);
  });
});
