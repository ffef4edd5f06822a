/** Branded identifiers: a piece index can never be passed where a peer id is expected. */
export type Brand<T, B extends string> = T & { readonly __brand: B };

/** Assigned by the signaling server; a peer never picks its own. */
export type PeerId = Brand<string, 'PeerId'>;
/** Hex SHA-256 of the canonical manifest bytes. */
export type ModelId = Brand<string, 'ModelId'>;
/** A ring session (one generation request), unique per requester. */
export type SessionId = Brand<string, 'SessionId'>;
/** Room name on the signaling server (one per swarm/model). */
export type RoomId = Brand<string, 'RoomId'>;

export const asPeerId = (s: string): PeerId => s as PeerId;
export const asModelId = (s: string): ModelId => s as ModelId;
export const asSessionId = (s: string): SessionId => s as SessionId;
export const asRoomId = (s: string): RoomId => s as RoomId;
