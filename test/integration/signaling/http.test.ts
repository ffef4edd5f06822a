// The HTTP side: handler without sockets, the static page, and the real CLI process.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSignalingServer, type SignalingServer } from '../../../signaling/server.ts';
import { rawClient } from './helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let server: SignalingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('signaling HTTP routes', () => {
  it('serves /healthz, /metrics, 426 on /signal and 405 on POST without a socket', async () => {
    server = await createSignalingServer({ port: 0, staticDir: join(tmpdir(), 'ringmesh-does-not-exist') });
    const get = (path: string, init?: RequestInit) => server!.handleHttp(new Request(`http://x${path}`, init));
    expect(await (await get('/healthz')).json()).toMatchObject({ status: 'ok', peers: 0, rooms: 0 });
    const metrics = await get('/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await metrics.text()).toMatch(/ringmesh_signal_peers 0/);
    expect((await get('/signal')).status).toBe(426);
    expect((await get('/', { method: 'POST' })).status).toBe(405);
    const missing = await get('/');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/npm run build:web/);
  });

  it('serves the built page over a real socket and never leaves its folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringmesh-web-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ringmesh</title>');
    writeFileSync(join(dir, 'app.js'), 'export {};');
    server = await createSignalingServer({ port: 0, staticDir: dir });
    const page = await fetch(server.httpUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<title>ringmesh</title>');
    expect((await fetch(new URL('/app.js', server.httpUrl))).headers.get('content-type')).toMatch(/javascript/);
    expect((await server.handleHttp(new Request('http://x/%2e%2e/%2e%2e/package.json'))).status).toBe(404);
    expect((await server.handleHttp(new Request('http://x/%E0%A4%A'))).status).toBe(400);
    // Page and socket share the origin.
    const c = await rawClient(server.url);
    await c.hello('same-origin');
    c.close();
  });

  it('runs as the ringmesh-signal process and answers /healthz', async () => {
    const child = spawn(process.execPath, [join(root, 'bin', 'ringmesh-signal.js'), '--port', '0', '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RINGMESH_MAX_ROOMS: '3' },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += String(d);
          const m = /^page (\S+)$/m.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const health = await fetch(new URL('/healthz', url));
      expect(await health.json()).toMatchObject({ status: 'ok', connections: 0 });
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
