// The errors of starting a peer (peer-core.ts), the same on a Node peer and in a browser tab.
import { RingmeshError } from '../errors.ts';

/** The model's manifest did not arrive (from the package, a peer or the origin) in time. */
export class ManifestTimeoutError extends RingmeshError {
  constructor(
    readonly modelId: string,
    readonly waitedMs: number,
  ) {
    super(`model ${modelId}: no manifest after ${waitedMs} ms, expected one from the local package, a peer or the origin`);
  }
}

/** The tokenizer file read from the package or origin does not match the manifest's hash. */
export class TokenizerMismatchError extends RingmeshError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`tokenizer ${file}: sha256 mismatch, expected ${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…`);
  }
}

/** The start was called off (its AbortSignal fired) before the peer was up; what it had opened is closed. */
export class PeerStartAbortedError extends RingmeshError {
  constructor(readonly modelId: string) {
    super(`model ${modelId}: peer start aborted before the peer was up`);
  }
}
