import { RingmeshError } from '../errors.ts';
import { PieceHashMismatchError, PieceLengthError } from '../model/errors.ts';

// One class per failure of the piece layer; tests and edges match on the class, never the text.

/** A stored copy failed verification on load; it was deleted and is never served. */
export class CorruptPieceError extends RingmeshError {
  constructor(
    readonly hash: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(`stored piece ${hash.slice(0, 12)}… at ${location} is corrupt: deleted, will be fetched again`, options);
  }
}

/** The disk holding the cache is full (ENOSPC). */
export class StoreFullError extends RingmeshError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`cache disk full while writing ${path}: free space or point --cache-dir elsewhere`, options);
  }
}

/** The cache directory (or a file in it) cannot be written or read (EACCES/EPERM/EROFS). */
export class StorePermissionError extends RingmeshError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`no permission to use ${path}: make it writable or point --cache-dir elsewhere`, options);
  }
}

/** Any other I/O failure of a store, with the path it concerned. */
export class StoreIoError extends RingmeshError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`cache I/O failed at ${path}`, options);
  }
}

/** The browser's storage quota is exhausted even after evicting every other cached model. */
export class StoreQuotaError extends RingmeshError {
  constructor(
    readonly needed: number,
    readonly modelId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `browser storage quota full: cannot store ${needed} more bytes${modelId ? ` of model ${modelId.slice(0, 12)}…` : ''} ` +
        'even after evicting older models; free site storage or use a peer with more space',
      options,
    );
  }
}

/** The origin answered with an HTTP status we cannot use. */
export class OriginHttpError extends RingmeshError {
  constructor(
    readonly url: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(`origin ${url} answered HTTP ${status}`, options);
  }
}

/** The origin's bytes do not match the range asked for (no Range support, wrong length). */
export class OriginRangeError extends RingmeshError {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`origin ${url}: ${detail}`);
  }
}

/** Every retry against the origin failed. */
export class OriginUnavailableError extends RingmeshError {
  constructor(
    readonly url: string,
    attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`origin ${url} failed after ${attempts} attempts`, options);
  }
}

/** A file the model needs is missing from a directory origin. */
export class OriginFileMissingError extends RingmeshError {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`origin file ${path} does not exist`, options);
  }
}

/** A peer broke the piece protocol (bad piece, unrequested piece, malformed bitfield). */
export class PeerMisbehavedError extends RingmeshError {
  constructor(
    readonly peer: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`peer ${peer} dropped: ${detail}`, options);
  }
}

/** Manifest bytes whose hash is not the model id asked for. */
export class ManifestMismatchError extends RingmeshError {
  constructor(
    readonly modelId: string,
    actual: string,
  ) {
    super(`manifest for model ${modelId.slice(0, 12)}…: sha256 of its canonical bytes is ${actual.slice(0, 12)}…`);
  }
}

/** The swarm was closed while something still waited on it: `ready` (the model), `fetchUnits` (units). */
export class SwarmClosedError extends RingmeshError {
  /** `waitingFor` absent: the swarm was closed already when asked. */
  constructor(readonly waitingFor?: 'model' | 'units') {
    super(waitingFor === undefined ? 'swarm closed' : `swarm closed before the ${waitingFor === 'model' ? 'model was' : 'units were'} complete`);
  }
}

/** A piece held when its unit was asked for was gone (evicted, found corrupt) by the time it was read. */
export class PieceLeftStoreError extends RingmeshError {
  constructor(readonly piece: string) {
    super(`piece ${piece} left the store before its unit was read`);
  }
}

/** Something that is not an Error was thrown inside the swarm; it is kept as the cause. */
export class SwarmInternalError extends RingmeshError {
  constructor(thrown: unknown) {
    super(String(thrown), { cause: thrown });
  }
}

/** Bytes a verifying store refused (docs/pieces.md, "Store"): whoever sent them sent a bad piece. */
export function isBadPiece(err: unknown): boolean {
  return err instanceof PieceHashMismatchError || err instanceof PieceLengthError;
}

/** A failed origin read (after its retries): the origin is paused, not the swarm. */
/**
 * A file path given to an origin that could leave the package root (`..`, an absolute path, a
 * backslash): refused before any file or URL is touched. Manifests only name plain files
 * (manifest-schema.ts), so this guards the origins themselves, not a path that honest input takes.
 */
export class OriginPathError extends RingmeshError {
  constructor(readonly file: string) {
    super(`origin path ${JSON.stringify(file.slice(0, 200))} is not a plain path inside the package`);
  }
}

export function isOriginError(err: unknown): boolean {
  return (
    err instanceof OriginPathError ||
    err instanceof OriginUnavailableError ||
    err instanceof OriginHttpError ||
    err instanceof OriginRangeError ||
    err instanceof OriginFileMissingError
  );
}
