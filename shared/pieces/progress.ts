/** What a peer's download looks like; the CLI bar and the web page render these. */
export interface SwarmProgress {
  readonly modelId: string;
  /**
   * Bytes held from this peer's own store: pieces found verified there at start (whether its
   * partition wants them yet or not) and a seed's own package as it is imported.
   */
  readonly fromCache: number;
  readonly fromPeers: number;
  readonly fromOrigin: number;
  /** Pieces held of those wanted or found in the store at start (`piecesTotal`); bytes likewise. */
  readonly piecesDone: number;
  readonly piecesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Bytes this peer served to others. */
  readonly served: number;
  readonly peers: number;
}
