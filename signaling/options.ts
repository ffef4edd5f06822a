import type { Logger } from 'pino';
import type { PeerId, RoomId } from '../shared/ids.ts';
import type { Capabilities, MemberRole } from '../shared/signaling/protocol.ts';
import type { MemoryCaps } from './member-claims.ts';

/** A room member as the planner hook sees it. */
export interface MemberView {
  readonly peerId: PeerId;
  /** As announced in `hello`, with `memoryBytes` capped (member-claims.ts). */
  readonly capabilities: Capabilities;
  /** From the join token (or the server's open role); absent only in views built by hand. */
  readonly role?: MemberRole;
  /** Latest report per kind (`ready`, …) with the epoch it was sent for. */
  readonly reports: ReadonlyMap<string, { readonly epoch: number; readonly data: unknown }>;
  /** ms since the epoch (server clock). */
  readonly joinedAt: number;
}

/**
 * Called once per batch of membership changes (after the epoch moved); its result is broadcast
 * to the room as `plan`. Return `undefined` to send nothing. Members come in join order.
 */
export type PlanHook = (room: RoomId, members: readonly MemberView[], epoch: number) => unknown;

/** Each limit is configurable; the defaults suit one public server on a small machine. */
export interface SignalingLimits {
  /** Largest inbound frame, bytes (default 64 KiB: an SDP with many candidates is a few KiB). Bigger frames close the socket with 1009. */
  readonly maxMessageBytes: number;
  /** Sustained frames per second per connection (token bucket refill; default 100). */
  readonly messagesPerSecond: number;
  /** Token bucket size: frames allowed in a burst (default 300: offers + trickled candidates to a dozen peers at once). */
  readonly messageBurst: number;
  /** Members per room (default 10 000). */
  readonly maxPeersPerRoom: number;
  /** Rooms per server (default 1 000). */
  readonly maxRooms: number;
  /** Open sockets per server, joined or not (default 20 000). */
  readonly maxConnections: number;
  /** Invalid or rate-limited frames tolerated (refilling at one per 5 s) before the socket is closed (default 20). */
  readonly maxStrikes: number;
  /** A socket whose unsent output passes this (a reader that stopped reading) is cut (default 8 MiB). */
  readonly maxBufferedBytes: number;
  /** Open sockets per client address (IPv6: per /64), joined or not (default 64); beyond: close 4429. */
  readonly maxConnectionsPerAddress: number;
  /** Distinct rooms the members from one client address may be in (default 8); beyond: close 4429. */
  readonly maxRoomsPerAddress: number;
  /** Distinct report kinds per member (default 8). */
  readonly maxReportKinds: number;
  /** Largest report `data` as JSON, bytes (default 4 KiB; `model` reports: `maxManifestBytes`). */
  readonly maxReportBytes: number;
  /** Largest manifest a `model` report may carry, canonical JSON bytes (default 1 MiB); frames up to it + 4 KiB pass. */
  readonly maxManifestBytes: number;
  /** Reports per second per member (token bucket refill; default 2). */
  readonly reportsPerSecond: number;
  /** Reports allowed in a burst (default 30). */
  readonly reportBurst: number;
}

export interface SignalingServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** pino logger; default silent. */
  readonly log?: Logger;
  /** Folder served at / (default `dist/web` of this checkout); a missing folder gives a 404 page. */
  readonly staticDir?: string;
  readonly limits?: Partial<SignalingLimits>;
  /** When set, `hello.token` must be a join token signed with it (see join-token.ts). */
  readonly tokenSecret?: string;
  /** Signs resume tokens; give the same value across restarts so peers keep their ids. Default: random per server. */
  readonly resumeSecret?: string;
  /** Browser origins allowed to open /signal; absent = any. Requests without an Origin header (non-browser peers) always pass. */
  readonly allowOrigins?: readonly string[];
  readonly plan?: PlanHook;
  /**
   * Model ids the operator assigns to room names that are not model ids themselves; a `model`
   * report is accepted only for the room's model: this map's entry, else the room id.
   */
  readonly roomModels?: ReadonlyMap<string, string>;
  /** Report kinds members may send; absent: any kind, up to `limits.maxReportKinds` per member. */
  readonly reportKinds?: ReadonlySet<string>;
  /** Memory claims above these are cut to them (default browser 16 GiB, node 1 TiB). */
  readonly memoryCaps?: Partial<MemoryCaps>;
  /** Role of every member on a server without `tokenSecret` (default 'contributor'). */
  readonly openRole?: MemberRole;
  /**
   * Take the client address from the last `X-Forwarded-For` entry (set by a reverse proxy in
   * front of the server) instead of the socket's; only behind a proxy that sets it (default false).
   */
  readonly trustProxy?: boolean;
  /**
   * Report kinds that change what the plan hook sees (e.g. a member reporting the model's shape):
   * a report of such a kind with new data bumps the room's epoch and runs the hook again.
   */
  readonly replanOnReports?: ReadonlySet<string>;
  /** Protocol ping sweep, ms (default 15 000): a socket silent for a whole sweep is evicted. */
  readonly heartbeatIntervalMs?: number;
  /** Close a socket that sent no `hello` after this long, ms (default 10 000). */
  readonly helloTimeoutMs?: number;
  /** Batch membership announcements (and plan runs) over this window, ms (default 20). */
  readonly announceDelayMs?: number;
  /** Rooms up to this size get full member lists and every join/leave; larger ones a sample and no per-peer announcements (default 1 000). */
  readonly fullMembershipLimit?: number;
  /** Members in a large room's `welcome` (default 64). */
  readonly welcomeSampleSize?: number;
  /** How long close() waits for clients to take the close frame, ms (default 2 000). */
  readonly shutdownTimeoutMs?: number;
  /** Server clock, ms (default Date.now): token expiry and join times. */
  readonly now?: () => number;
  /** [0, 1) source for the welcome sample (default Math.random). */
  readonly random?: () => number;
}

export const DEFAULT_LIMITS: SignalingLimits = {
  maxMessageBytes: 64 * 1024,
  messagesPerSecond: 100,
  messageBurst: 300,
  maxPeersPerRoom: 10_000,
  maxRooms: 1_000,
  maxConnections: 20_000,
  maxStrikes: 20,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxConnectionsPerAddress: 64,
  maxRoomsPerAddress: 8,
  maxReportKinds: 8,
  maxReportBytes: 4 * 1024,
  maxManifestBytes: 1024 * 1024,
  reportsPerSecond: 2,
  reportBurst: 30,
};
