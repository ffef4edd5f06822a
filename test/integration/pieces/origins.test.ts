import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirOrigin } from '../../../node-peer/origin/dir-origin.ts';
import { HttpOrigin } from '../../../node-peer/origin/http-origin.ts';
import { OriginFileMissingError, OriginHttpError, OriginUnavailableError } from '../../../shared/pieces/errors.ts';
import type { Origin } from '../../../shared/pieces/origin.ts';
import { startOriginServer, type OriginServer } from '../../util/origin-server.ts';
import { randomStream, writeSyntheticPackage } from '../../util/pieces-package.ts';

const PIECE = 64 * 1024;
let dir: string;
let server: OriginServer;
const noSleep = { sleep: async () => undefined, backoffMs: 1 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rm-origin-'));
  await writeSyntheticPackage(join(dir, 'pkg'), { layers: 2, unitBytes: 5 * PIECE, pieceSize: PIECE, seed: 1 });
  server = await startOriginServer({ dir: join(dir, 'pkg'), pieceSize: PIECE });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const expected = (offset: number, length: number): number[] =>
  Array.from(randomStream('1-layer-001', 5 * PIECE - Math.floor(PIECE / 3)).subarray(offset, offset + length));

describe.each([
  ['DirOrigin', (): Origin => new DirOrigin(join(dir, 'pkg'))],
  ['HttpOrigin', (): Origin => new HttpOrigin(server.url, noSleep)],
])('%s', (_name, make) => {
  it('reads a byte range and a whole file', async () => {
    const origin = make();
    expect(Array.from(await origin.read('layer-001.bin', { offset: PIECE, length: PIECE }))).toEqual(expected(PIECE, PIECE));
    const whole = await origin.read('layer-001.bin');
    expect(whole.length).toBe(5 * PIECE - Math.floor(PIECE / 3));
    const manifest = JSON.parse(new TextDecoder().decode(await origin.read('manifest.json'))) as { pieceSize: number };
    expect(manifest.pieceSize).toBe(PIECE);
  });
});

describe('HttpOrigin against a flaky server', () => {
  it('retries 503s and resumes a cut body without re-reading delivered bytes', async () => {
    const origin = new HttpOrigin(server.url, noSleep);
    server.bytesByPiece.clear();
    server.failNext(2);
    server.cutNext(1, 20_000);
    const got = await origin.read('layer-001.bin', { offset: 2 * PIECE, length: PIECE });
    expect(Array.from(got)).toEqual(expected(2 * PIECE, PIECE));
    // the cut delivered 20,000 bytes, the resume the rest: every byte of the piece once
    expect(server.bytesByPiece.get('layer-001.bin#2')).toBe(PIECE);
  });

  it('gives up after its attempts with OriginUnavailableError', async () => {
    server.failNext(3, 502);
    const origin = new HttpOrigin(server.url, { ...noSleep, attempts: 3 });
    await expect(origin.read('embed.bin', { offset: 0, length: 10 })).rejects.toBeInstanceOf(OriginUnavailableError);
  });

  it('fails at once on 404', async () => {
    const origin = new HttpOrigin(server.url, noSleep);
    const err = await origin.read('nope.bin', { offset: 0, length: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OriginHttpError);
    expect((err as OriginHttpError).status).toBe(404);
  });

  it('DirOrigin names a missing file', async () => {
    await expect(new DirOrigin(join(dir, 'pkg')).read('nope.bin')).rejects.toBeInstanceOf(OriginFileMissingError);
  });
});

describe('HttpOrigin with a token under a Hugging Face style prefix', () => {
  it('sends the bearer token and reads from …/resolve/<revision>/', async () => {
    const hf = await startOriginServer({ dir: join(dir, 'pkg'), pieceSize: PIECE, token: 's3cret', prefix: '/org/tiny/resolve/main' });
    try {
      expect(hf.url).toMatch(/\/org\/tiny\/resolve\/main\/$/);
      const anon = new HttpOrigin(hf.url, noSleep);
      expect(await anon.read('embed.bin', { offset: 0, length: 8 }).catch((e: unknown) => (e as OriginHttpError).status)).toBe(401);
      const authed = new HttpOrigin(hf.url.replace(/\/$/, ''), { ...noSleep, token: 's3cret' });
      expect((await authed.read('head.bin', { offset: 5, length: 100 })).length).toBe(100);
    } finally {
      await hf.close();
    }
  });
});
