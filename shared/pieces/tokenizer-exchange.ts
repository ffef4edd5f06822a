// The model's tokenizer file between peers (docs/pieces.md, "Tokenizer"): it travels as the
// pseudo-piece `tokenizer#0`, asked for in ranged REQUESTs (probes: the answer goes to the asker,
// never into the store), at most the manifest's `tokenizer.bytes`, and is used only once its
// SHA-256 matches the manifest's. A peer that sends other bytes is banned like one that sends a bad piece.
import { sha256Hex } from '../crypto/sha256.ts';
import { RingmeshError } from '../errors.ts';
import type { TokenizerEntry } from '../model/manifest.ts';
import type { Clock } from '../util/clock.ts';
import type { Origin } from './origin.ts';
import type { ProbeAnswer } from './range-probe.ts';

export const TOKENIZER_UNIT = 'tokenizer';
/** Bytes asked for per REQUEST (well under a PIECE frame's 16 MiB). */
export const TOKENIZER_CHUNK_BYTES = 1 << 20;
/** Tokenizer files are a few MB; a manifest naming a larger one is not fetched from peers. */
export const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;

/** The manifest's tokenizer is larger than a peer will fetch from others. */
export class TokenizerTooLargeError extends RingmeshError {
  constructor(readonly bytes: number) {
    super(`the manifest's tokenizer is ${bytes} bytes, over the ${MAX_TOKENIZER_BYTES} a peer fetches from others: give this peer --origin`);
  }
}

/**
 * The tokenizer as this peer serves it: bytes handed over once verified (`hold`), else read from
 * its own package (a seed) and checked against the manifest on first use.
 */
export class TokenizerShare {
  private bytes: Uint8Array | undefined;
  private loading: Promise<Uint8Array | undefined> | undefined;

  constructor(
    private readonly localPackage: Origin | undefined,
    private readonly hashOf: (d: Uint8Array) => Promise<string> | string = sha256Hex,
  ) {}

  /** Whether a REQUEST for it can be answered (otherwise REJECT missing at once). */
  get available(): boolean {
    return this.bytes !== undefined || this.localPackage !== undefined;
  }

  /** Bytes already checked against the manifest (by the caller). */
  hold(bytes: Uint8Array): void {
    this.bytes = bytes;
  }

  /** The verified bytes, or undefined (none held, or the package's copy does not match `entry`). */
  read(entry: TokenizerEntry): Promise<Uint8Array | undefined> {
    if (this.bytes !== undefined) return Promise.resolve(this.bytes);
    const pkg = this.localPackage;
    if (pkg === undefined) return Promise.resolve(undefined);
    this.loading ??= (async () => {
      const data = await pkg.read(entry.file).catch(() => undefined);
      if (data === undefined || (await this.hashOf(data)) !== entry.sha256) return undefined;
      this.bytes = data;
      return data;
    })();
    return this.loading;
  }
}

/** What fetching needs from the swarm (PieceSwarm has it all). */
export interface TokenizerPeers {
  connectedPeers(): readonly string[];
  probePeer(peer: string, unit: string, index: number, offset: number, length: number, timeoutMs: number): Promise<ProbeAnswer>;
  ban(peer: string, detail: string): void;
}

export interface TokenizerFetchOptions {
  readonly clock: Clock;
  /** Give up (undefined) after this long without a verified copy. */
  readonly timeoutMs: number;
  /** One chunk's answer within this long, else the next peer is asked (default 10 000 ms). */
  readonly chunkTimeoutMs?: number;
  /** Pause before asking everyone again when no peer had it (default 500 ms). */
  readonly retryMs?: number;
  /** Bytes per REQUEST (default TOKENIZER_CHUNK_BYTES). */
  readonly chunkBytes?: number;
  readonly sha256Hex?: (d: Uint8Array) => Promise<string> | string;
}

type Attempt = { readonly kind: 'ok'; readonly bytes: Uint8Array } | { readonly kind: 'none' } | { readonly kind: 'bad'; readonly detail: string };

/**
 * Asks connected peers in turn for the tokenizer described by `entry` until one sends bytes with
 * its SHA-256; undefined after `timeoutMs`. A peer answering with the wrong length, a range it was
 * not asked for or bytes of another hash is banned (`peers.ban`) and not asked again.
 */
export async function fetchTokenizerFromPeers(entry: TokenizerEntry, peers: TokenizerPeers, opts: TokenizerFetchOptions): Promise<Uint8Array | undefined> {
  if (entry.bytes > MAX_TOKENIZER_BYTES) throw new TokenizerTooLargeError(entry.bytes);
  const retryMs = opts.retryMs ?? 500;
  const deadline = opts.clock.now() + opts.timeoutMs;
  const banned = new Set<string>();
  const rounds = Math.ceil(opts.timeoutMs / retryMs) + 1; // a clock that stands still still ends
  for (let round = 0; round < rounds && opts.clock.now() < deadline; round++) {
    for (const peer of peers.connectedPeers()) {
      if (banned.has(peer)) continue;
      const got = await fromPeer(entry, peer, peers, opts);
      if (got.kind === 'ok') return got.bytes;
      if (got.kind === 'bad') {
        banned.add(peer);
        peers.ban(peer, got.detail);
      }
      if (opts.clock.now() >= deadline) return undefined;
    }
    await new Promise<void>((resolve) => opts.clock.setTimeout(resolve, retryMs));
  }
  return undefined;
}

async function fromPeer(entry: TokenizerEntry, peer: string, peers: TokenizerPeers, opts: TokenizerFetchOptions): Promise<Attempt> {
  const out = new Uint8Array(entry.bytes);
  const chunk = Math.max(1, Math.min(opts.chunkBytes ?? TOKENIZER_CHUNK_BYTES, TOKENIZER_CHUNK_BYTES));
  for (let offset = 0; offset < entry.bytes; offset += chunk) {
    const length = Math.min(chunk, entry.bytes - offset);
    const a = await peers.probePeer(peer, TOKENIZER_UNIT, 0, offset, length, opts.chunkTimeoutMs ?? 10_000);
    if (a.kind === 'invalid') return { kind: 'bad', detail: `sent a tokenizer range it was not asked for (${a.detail})` };
    if (a.kind !== 'data') return { kind: 'none' }; // refused, silent or gone: ask another
    if (a.data.byteLength !== length) return { kind: 'bad', detail: `sent ${a.data.byteLength} tokenizer bytes at ${offset}, expected ${length}` };
    out.set(a.data, offset);
  }
  const hash = await (opts.sha256Hex ?? sha256Hex)(out);
  if (hash !== entry.sha256) return { kind: 'bad', detail: `sent a tokenizer with sha256 ${hash.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…` };
  return { kind: 'ok', bytes: out };
}
