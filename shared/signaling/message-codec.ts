/**
 * Text-frame codec of the signaling protocol. Parsing never throws: a frame is either a typed
 * message or a typed error naming the offending field, so a bad frame from one peer can never take
 * down the process that reads it.
 */
import type { z } from 'zod';
import { clientMessageSchema, PROTOCOL_VERSION, serverMessageSchema, type ClientMessage, type ServerMessage } from './protocol.ts';
import { SignalingJsonError, SignalingSchemaError, SignalingVersionError, type SignalingProtocolError } from './errors.ts';

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SignalingProtocolError };

/** Client → server frame (the server's side). Checks `hello.v` before the rest of the schema. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  const raw = parseJson(text);
  if (!raw.ok) return raw;
  const value = raw.value;
  if (isRecord(value) && value['type'] === 'hello' && value['v'] !== PROTOCOL_VERSION) {
    return { ok: false, error: new SignalingVersionError(value['v'], PROTOCOL_VERSION) };
  }
  return validate(clientMessageSchema, value);
}

/** Server → client frame (the client's side). */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  const raw = parseJson(text);
  if (!raw.ok) return raw;
  return validate(serverMessageSchema, raw.value);
}

/** Serializes a message. Kept as a function so both ends encode in one place. */
export function encodeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

function parseJson(text: string): ParseResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (cause) {
    // JSON.parse is the one call here that throws; turn it into a typed result.
    return { ok: false, error: new SignalingJsonError('frame is not valid JSON', { cause }) };
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown): ParseResult<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'type';
  const detail = issue?.message ?? 'invalid';
  return { ok: false, error: new SignalingSchemaError(`invalid field "${field}": ${detail}`, field, { cause: result.error }) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
