import { RingmeshError } from '../../shared/errors.ts';

/** The model's manifest did not arrive (from the package, peers or origin) in time. */
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
