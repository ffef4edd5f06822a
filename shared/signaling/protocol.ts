/**
 * The signaling protocol: JSON text frames over one WebSocket at `/signal`, as zod schemas with
 * the TypeScript types inferred from them. Version {@link PROTOCOL_VERSION}: a client states it in
 * `hello`, the server repeats it in `welcome` and refuses any other (close code 4400).
 *
 * The schemas are the single source of truth: the server validates every client frame with them,
 * the client validates every server frame, so both ends reject a malformed frame naming its field.
 */
import { z } from 'zod';
import type { PeerId, RoomId } from '../ids.ts';

export const PROTOCOL_VERSION = 1;

const peerIdSchema = z
  .string()
  .min(1)
  .max(64)
  .transform((s) => s as PeerId);
const roomIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'room: 1–128 characters of A–Z a–z 0–9 . _ : -')
  .transform((s) => s as RoomId);
const epochSchema = z.number().int().nonnegative();
const modelRefSchema = z.string().min(1).max(128);

/** What a peer brings: used by the planner (memory, speed) and by piece partners (models). */
export const capabilitiesSchema = z.object({
  kind: z.enum(['node', 'browser']),
  engine: z.enum(['cuda', 'cpu', 'webgpu', 'wasm']),
  /** Memory budget for weights + KV cache, bytes. */
  memoryBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** Layer-forward time on the fixed micro-benchmark, ms; absent until measured. */
  speedMsPerLayer: z.number().positive().finite().optional(),
  modelsHeld: z.array(modelRefSchema).max(64),
  modelsWanted: z.array(modelRefSchema).max(64),
  /** This peer answers direct (TCP) link offers from other Node peers (docs/wire-protocol.md). */
  directLinks: z.boolean().optional(),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** Who the operator vouches for (join token `role`); absent (an older server) means contributor. */
export const memberRoleSchema = z.enum(['trusted', 'contributor']);
export type MemberRole = z.infer<typeof memberRoleSchema>;

/**
 * A member of a room as other peers see it. The server sets `capabilities.memoryBytes` to the
 * claim as capped (docs/signaling.md, "Member claims"), `role`, and, for members that make direct
 * links, `address`: the address their signaling connection comes from, the only host a direct-link
 * answer from them may name.
 */
export const peerInfoSchema = z.object({
  peerId: peerIdSchema,
  capabilities: capabilitiesSchema,
  role: memberRoleSchema.optional(),
  address: z.string().min(1).max(64).optional(),
});
export type PeerInfo = z.infer<typeof peerInfoSchema>;

// ── client → server ──────────────────────────────────────────────────────────────────────────

/**
 * First frame of every connection. `resume` carries the id and resume token of an earlier
 * `welcome`: when the server accepts it the peer keeps its id (see docs/signaling.md).
 */
export const helloSchema = z.object({
  type: z.literal('hello'),
  v: z.number().int(),
  room: roomIdSchema,
  /** Join token (HMAC-signed room + expiry) when the server requires one. */
  token: z.string().min(1).max(2048).optional(),
  resume: z.object({ peerId: peerIdSchema, token: z.string().min(1).max(256) }).optional(),
  capabilities: capabilitiesSchema,
});
/** Relay `data` (SDP / ICE, verbatim) to another member of the same room. */
export const signalSchema = z.object({ type: z.literal('signal'), to: peerIdSchema, data: z.unknown() });
/** Application keep-alive; the server answers `pong`. Any frame counts as a sign of life. */
export const heartbeatSchema = z.object({ type: z.literal('heartbeat'), nonce: z.number().int().optional() });
/** Leave the room now (instead of waiting for the socket close). */
export const leaveSchema = z.object({ type: z.literal('leave') });
/**
 * An open status report (`kind` e.g. "ready", "pieces") for the ring / piece layers. The server
 * keeps each member's latest report per kind, hands them to the planner and relays them to the
 * room as `report` with `from` set.
 */
export const reportSchema = z.object({
  type: z.literal('report'),
  epoch: epochSchema,
  kind: z.string().regex(/^[a-z0-9-]{1,32}$/, 'kind: 1–32 characters of a–z 0–9 -'),
  data: z.unknown().optional(),
});

/**
 * A trusted member's verifier caught `peer` returning wrong results (docs/ring.md, "Verified
 * compute"): the server closes it and refuses its identity in the room from then on. Refused from
 * contributors and against trusted members.
 */
export const evictSchema = z.object({ type: z.literal('evict'), peer: peerIdSchema, reason: z.string().max(200) });

export const clientMessageSchema = z.discriminatedUnion('type', [helloSchema, signalSchema, heartbeatSchema, leaveSchema, reportSchema, evictSchema]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type HelloMessage = z.infer<typeof helloSchema>;
export type SignalMessage = z.infer<typeof signalSchema>;
export type ReportMessage = z.infer<typeof reportSchema>;
export type EvictMessage = z.infer<typeof evictSchema>;

// ── server → client ──────────────────────────────────────────────────────────────────────────

/**
 * Answer to `hello`. `members` lists every member (this peer included) while the room is at most
 * the server's full-membership limit (`complete: true`); above it, a random sample.
 */
export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  v: z.number().int(),
  peerId: peerIdSchema,
  room: roomIdSchema,
  /** Present this (with `peerId`) in a later `hello.resume` to keep the id. */
  resumeToken: z.string(),
  /** True when the server accepted `hello.resume`. */
  resumed: z.boolean(),
  epoch: epochSchema,
  members: z.array(peerInfoSchema),
  memberCount: z.number().int().nonnegative(),
  complete: z.boolean(),
});
/** Members that joined (or re-joined: treat as upsert) since the last announcement. */
export const peerJoinedSchema = z.object({
  type: z.literal('peer-joined'),
  epoch: epochSchema,
  peers: z.array(peerInfoSchema),
  memberCount: z.number().int().nonnegative(),
});
/** Members that left since the last announcement. */
export const peerLeftSchema = z.object({
  type: z.literal('peer-left'),
  epoch: epochSchema,
  peerIds: z.array(peerIdSchema),
  memberCount: z.number().int().nonnegative(),
});
/** A relayed `signal`; `from` is set by the server and cannot be forged. */
export const relayedSignalSchema = z.object({ type: z.literal('signal'), from: peerIdSchema, data: z.unknown() });
/** The planner's output for membership `epoch`; opaque here (the planner defines its shape). */
export const planSchema = z.object({ type: z.literal('plan'), epoch: epochSchema, plan: z.unknown() });
/** A member's relayed report. */
export const relayedReportSchema = z.object({
  type: z.literal('report'),
  from: peerIdSchema,
  epoch: epochSchema,
  kind: z.string(),
  data: z.unknown().optional(),
});
export const pongSchema = z.object({ type: z.literal('pong'), nonce: z.number().int().optional() });
/** Why a frame was refused; `field` names the offending field (dot path) when there is one. */
export const errorSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  field: z.string().optional(),
});

export const serverMessageSchema = z.discriminatedUnion('type', [
  welcomeSchema,
  peerJoinedSchema,
  peerLeftSchema,
  relayedSignalSchema,
  planSchema,
  relayedReportSchema,
  pongSchema,
  errorSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type WelcomeMessage = z.infer<typeof welcomeSchema>;
export type PeerJoinedMessage = z.infer<typeof peerJoinedSchema>;
export type PeerLeftMessage = z.infer<typeof peerLeftSchema>;
export type RelayedSignalMessage = z.infer<typeof relayedSignalSchema>;
export type PlanMessage = z.infer<typeof planSchema>;
export type RelayedReportMessage = z.infer<typeof relayedReportSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;

/** Stable `code`s of `error` frames. */
export const ERROR_CODES = {
  badJson: 'bad-json',
  binary: 'binary-not-supported',
  invalid: 'invalid-message',
  version: 'unsupported-version',
  notJoined: 'not-joined',
  alreadyJoined: 'already-joined',
  unknownPeer: 'unknown-peer',
  rateLimited: 'rate-limited',
  roomFull: 'room-full',
  tooManyRooms: 'too-many-rooms',
  unauthorized: 'unauthorized',
  /** A report over the per-member caps (kinds, bytes, rate): not stored, not relayed. */
  reportRefused: 'report-refused',
  /** A `model` report whose manifest is malformed, too large or not the room's model. */
  modelRefused: 'model-refused',
  /** Too many connections or rooms from one client address. */
  addressLimit: 'address-limit',
  /** An `evict` the server does not honour (not trusted, unknown or trusted target). */
  evictRefused: 'evict-refused',
  /** This identity was evicted from the room (failed verification). */
  evicted: 'evicted',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];
