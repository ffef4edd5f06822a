/** A byte range inside a file of the model package. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * Where a model package can be read when no peer has a piece (docs/pieces.md): a local directory, an
 * HTTP(S) base URL (also a Hugging Face `…/resolve/<revision>/` URL), read with Range requests.
 * Implementations retry transient failures and resume a partial body themselves; what they return
 * is not verified here (the caller checks every piece against the manifest).
 */
export interface Origin {
  /** Where it reads from, for messages and logs (no credentials in it). */
  readonly label: string;
  /** Bytes [offset, offset + length) of `file` (a path relative to the package root), or the whole file. */
  read(file: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array>;
}
