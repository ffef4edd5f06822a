import { RingmeshError } from '../shared/errors.ts';

/** Base of the join-token failures; the server answers each with close code 4001. */
export class JoinTokenError extends RingmeshError {}

/** The server requires a join token and `hello` carried none. */
export class JoinTokenMissingError extends JoinTokenError {}
/** Not of the form `<payload>.<signature>` with a JSON payload {room, exp}. */
export class JoinTokenMalformedError extends JoinTokenError {}
/** The HMAC does not match (another secret, or a modified payload). */
export class JoinTokenSignatureError extends JoinTokenError {}
/** `exp` is in the past. */
export class JoinTokenExpiredError extends JoinTokenError {}
/** Signed for another room. */
export class JoinTokenRoomError extends JoinTokenError {}

/** A CLI flag or environment variable with a value the server cannot use. */
export class SignalingConfigError extends RingmeshError {}
