/**
 * WebSocket close codes the signaling server uses. A client reconnects after any close except
 * the ones in {@link FATAL_CLOSE_CODES}, which a retry cannot fix.
 */
export const CLOSE_CODES = {
  /** Normal close (the peer sent `leave`, or the client closed). */
  normal: 1000,
  /** The server is shutting down or restarting: reconnect with backoff. */
  serviceRestart: 1012,
  /** Server or room at capacity: try again later. */
  tryAgainLater: 1013,
  /** Too many invalid frames. */
  policyViolation: 1008,
  /** A frame above the size limit. */
  messageTooBig: 1009,
  /** The join token was missing, expired, for another room or badly signed. */
  unauthorized: 4001,
  /** No `hello` within the hello timeout. */
  helloTimeout: 4008,
  /** Still flooding after the rate limiter warned. */
  rateLimited: 4029,
  /** Too many connections (or rooms) from this client address: retry once some have closed. */
  addressLimit: 4429,
  /** `hello.v` is a protocol version the server does not speak. */
  unsupportedVersion: 4400,
  /** Another connection resumed this peer id. */
  replaced: 4409,
  /** Evicted from the room by a trusted member's verifier; this identity may not rejoin it. */
  evicted: 4403,
} as const;

/** Closes after which reconnecting is pointless (the same hello would be refused again). */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CLOSE_CODES.unauthorized,
  CLOSE_CODES.unsupportedVersion,
  CLOSE_CODES.replaced,
  CLOSE_CODES.evicted,
]);
