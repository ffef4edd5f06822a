// The one tokenizer loader (shared/peer/tokenizer-loader.ts): package, else origin, else peers;
// hash-checked; handed to the swarm to serve. The peer exchange itself is covered by
// test/unit/pieces/tokenizer-exchange.test.ts and, end to end, test/browser/ring/tokenizer-from-peers.test.ts.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/crypto/sha256.ts';
import type { ModelManifest } from '../../../shared/model/manifest.ts';
import { TokenizerMismatchError } from '../../../shared/peer/errors.ts';
import { loadTokenizer } from '../../../shared/peer/tokenizer-loader.ts';
import type { Origin } from '../../../shared/pieces/origin.ts';
import type { Clock } from '../../../shared/util/clock.ts';
import { goldenCases, modelFile } from '../../util/models.ts';

const c = goldenCases()[0]!;
const tokBytes = modelFile(c.tokenizer);
const manifest = {
  architecture: { vocabSize: 512 },
  tokenizer: {
    kind: 'llama2c',
    file: 'tokenizer.bin',
    bytes: tokBytes.length,
    sha256: await sha256Hex(tokBytes),
    bos: 1,
    eos: [2],
    addBos: true,
    chatTemplate: null,
  },
} as unknown as ModelManifest;

/** Files by name; a missing one fails to read, like an origin without the model. */
const files = (entries: Record<string, Uint8Array>): Origin => ({
  label: 'memory',
  read: (file) => (entries[file] ? Promise.resolve(entries[file]) : Promise.reject(new Error(`${file}: 404`))),
});

/** A swarm with no peers connected that records what it is given to serve. */
function lonelySwarm(): { held: Uint8Array[]; connectedPeers(): string[]; probePeer(): never; ban(): void; holdTokenizer(b: Uint8Array): void } {
  const held: Uint8Array[] = [];
  return {
    held,
    connectedPeers: () => [],
    probePeer: () => {
      throw new Error('no peer to probe');
    },
    ban: () => undefined,
    holdTokenizer: (b) => void held.push(b),
  };
}

/** A clock whose timers fire at once, advancing time by their delay: waits end without real time passing. */
function steppingClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      now += ms;
      queueMicrotask(fn);
      return 0;
    },
    clearTimeout: () => undefined,
  };
}

const base = { clock: steppingClock(), peerWaitMs: 5_000 };

describe('loadTokenizer', () => {
  it('reads the package first, checks it and hands it to the swarm to serve', async () => {
    const swarm = lonelySwarm();
    const other = new Uint8Array([1, 2, 3]);
    const got = await loadTokenizer(manifest, {
      ...base,
      swarm,
      localPackage: files({ 'tokenizer.bin': tokBytes }),
      origin: files({ 'tokenizer.bin': other }),
    });
    expect(got?.bytes).toBe(tokBytes);
    expect(got?.tokenizer.encode(c.prompt)).toEqual(c.prompt_ids);
    expect(swarm.held).toEqual([tokBytes]);
  });

  it('reads the origin when there is no package', async () => {
    const swarm = lonelySwarm();
    const got = await loadTokenizer(manifest, { ...base, swarm, origin: files({ 'tokenizer.bin': tokBytes }) });
    expect(got?.bytes).toBe(tokBytes);
    expect(swarm.held).toHaveLength(1);
  });

  it('throws TokenizerMismatchError for an origin copy of other bytes (the operator must fix it; peers are not asked)', async () => {
    const swarm = lonelySwarm();
    const bad = tokBytes.slice();
    bad[10] = (bad[10] ?? 0) ^ 0xff;
    await expect(loadTokenizer(manifest, { ...base, swarm, origin: files({ 'tokenizer.bin': bad }) })).rejects.toBeInstanceOf(TokenizerMismatchError);
    expect(swarm.held).toHaveLength(0);
  });

  it('asks the peers when the origin cannot be read, and gives null when none sends it in time', async () => {
    const swarm = lonelySwarm();
    expect(await loadTokenizer(manifest, { ...base, swarm, origin: files({}) })).toBeNull();
    expect(await loadTokenizer(manifest, { ...base, swarm })).toBeNull();
    expect(swarm.held).toHaveLength(0);
  });
});
