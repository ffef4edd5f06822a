/** What a peer's download looks like; the CLI bar and the web page render these. */
export interface SwarmProgress {
  readonly modelId: string;
  /** Bytes of wanted pieces found verified in the local store at start. */
  readonly fromCache: number;
  readonly fromPeers: number;
  readonly fromOrigin: number;
  readonly piecesDone: number;
  readonly piecesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Bytes this peer served to others. */
  readonly served: number;
  readonly peers: number;
}
