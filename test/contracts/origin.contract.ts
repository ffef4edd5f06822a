import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOriginError, OriginRangeError } from '../../shared/pieces/errors.ts';
import type { Origin } from '../../shared/pieces/origin.ts';
import { OriginPathError } from '../../shared/pieces/errors.ts';
import { startLyingOriginServer, type RangeLie } from '../util/lying-origin-server.ts';
import { randomStream } from '../util/pieces-package.ts';

export interface OriginSource {
  /** A fresh origin over the package folder. */
  make(): Origin;
  /** The same implementation over another server's base URL; absent where no server stands between (a folder). */
  overUrl?(base: string): Origin;
  close?(): Promise<void>;
}

/** Where the suite writes its package: `<web>/models/m1`, so a server of `<web>` serves it under /models/m1/. */
export interface PackageDirs {
  readonly web: string;
  readonly pkg: string;
}

/** Not a multiple of any server's read chunk, so ranges end mid-chunk. */
const SIZE = 300_007;
const weights = randomStream('origin-contract', SIZE);
const inner = randomStream('origin-contract-inner', 5000);
const manifest = { modelId: 'm1', pieceSize: 65_536 };

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

/**
 * What every Origin (shared/pieces/origin.ts: a folder, HTTP through undici, the browser's fetch)
 * must do: whole files and byte ranges exactly, typed failures for a missing file or a range past
 * the end, no path outside the package root, and, behind a server, never a range of the wrong
 * bytes or length whatever the server answers.
 */
export function runOriginContract(name: string, setup: (dirs: PackageDirs) => Promise<OriginSource>): void {
  describe(`Origin contract: ${name}`, () => {
    let root: string;
    let source: OriginSource;

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'rm-origin-contract-'));
      const dirs = { web: join(root, 'web'), pkg: join(root, 'web', 'models', 'm1') };
      await mkdir(join(dirs.pkg, 'sub'), { recursive: true });
      await writeFile(join(dirs.pkg, 'weights.bin'), weights);
      await writeFile(join(dirs.pkg, 'manifest.json'), JSON.stringify(manifest));
      await writeFile(join(dirs.pkg, 'sub', 'inner.bin'), inner);
      // Beside the package, where `../secret.bin` resolves for a folder and for a URL alike.
      await writeFile(join(dirs.web, 'models', 'secret.bin'), 'outside the package');
      source = await setup(dirs);
    });
    afterAll(async () => {
      await source?.close?.();
      await rm(root, { recursive: true, force: true });
    });

    it('reads whole files and byte ranges, in subfolders too', async () => {
      const origin = source.make();
      expect(origin.label).toMatch(/\S/);
      expect(Buffer.from(await origin.read('weights.bin')).equals(weights)).toBe(true);
      expect(JSON.parse(new TextDecoder().decode(await origin.read('manifest.json')))).toEqual(manifest);
      expect(Buffer.from(await origin.read('sub/inner.bin')).equals(inner)).toBe(true);
      for (const [offset, length] of [
        [0, 1],
        [65_536, 65_536],
        [12_345, 100_000],
        [SIZE - 1, 1],
        [SIZE - 70_000, 70_000],
      ] as const) {
        const got = await origin.read('weights.bin', { offset, length });
        expect(Buffer.from(got).equals(weights.subarray(offset, offset + length)), `${offset}+${length}`).toBe(true);
      }
    });

    it('concurrent reads each get their own bytes', async () => {
      const origin = source.make();
      const ranges = Array.from({ length: 8 }, (_, i) => ({ offset: i * 37_000, length: 20_000 + i }));
      const got = await Promise.all(ranges.map((r) => origin.read('weights.bin', r)));
      got.forEach((g, i) => {
        const r = ranges[i] as { offset: number; length: number };
        expect(Buffer.from(g).equals(weights.subarray(r.offset, r.offset + r.length))).toBe(true);
      });
    });

    it('a missing file rejects with an origin error', async () => {
      const origin = source.make();
      for (const file of ['nope.bin', 'nope/weights.bin']) {
        const err = await rejection(origin.read(file, { offset: 0, length: 10 }));
        expect(isOriginError(err), String(err)).toBe(true);
      }
    });

    it('a path that leaves the package root is refused before anything is read', async () => {
      const origin = source.make();
      for (const file of ['../secret.bin', 'sub/../../secret.bin', '/etc/passwd', 'sub\\..\\..\\secret.bin', '.', '']) {
        expect(await rejection(origin.read(file)), JSON.stringify(file)).toBeInstanceOf(OriginPathError);
      }
    });

    it('a range reaching past the end of the file is refused, never returned short', async () => {
      const origin = source.make();
      for (const range of [
        { offset: SIZE - 10, length: 20 },
        { offset: SIZE + 100, length: 10 },
      ]) {
        const err = await rejection(origin.read('weights.bin', range));
        expect(isOriginError(err), String(err)).toBe(true);
      }
    });

    it.each<[RangeLie, 'exact' | 'refused']>([
      ['ignores-range', 'exact'],
      ['longer', 'exact'],
      ['wrong-start', 'refused'],
      ['short', 'refused'],
    ])('behind a server whose range answer is %s: the exact range or a typed refusal (%s)', async (lie, outcome) => {
      if (!source.overUrl) return; // a folder: no server can answer wrongly (the range cases above cover it)
      const liar = await startLyingOriginServer(join(root, 'web', 'models', 'm1'), lie);
      try {
        const read = source.overUrl(liar.url).read('weights.bin', { offset: 1000, length: 50_000 });
        if (outcome === 'exact') {
          expect(Buffer.from(await read).equals(weights.subarray(1000, 51_000))).toBe(true);
        } else {
          const err = await rejection(read);
          expect(isOriginError(err), String(err)).toBe(true);
          if (lie === 'wrong-start') expect(err).toBeInstanceOf(OriginRangeError);
        }
      } finally {
        await liar.close();
      }
    });
  });
}
