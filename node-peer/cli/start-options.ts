import type { DeviceRequest } from '../engine/device-choice.ts';
import type { KvDtype } from '../../shared/graph/build-stage-graph.ts';
import type { LogFormatRequest } from './pretty-event.ts';

/** `node-peer start`'s flags, parsed (start-command.ts). */
export interface StartOptions {
  signal: string;
  model: string;
  memory?: number;
  apiPort?: number;
  apiHost: string;
  apiKey?: string;
  apiMaxBody: number;
  apiMaxConcurrent: number;
  corsOrigin?: string[];
  apiPublicHost?: string[];
  cacheDir: string;
  token?: string;
  iceServer?: string[];
  origin?: string;
  originToken?: string;
  replica?: 'full';
  layers?: { start: number; end: number };
  bindAddress?: string;
  linkMtu?: number;
  directLinks?: boolean;
  threads?: number;
  device: DeviceRequest;
  /** Element type of the stage's KV cache (--kv-dtype; fp16 halves its memory). */
  kvDtype: KvDtype;
  verifyRate?: number;
  fitTimeout: number;
  /** Seconds (--first-token-timeout, --token-timeout; docs/ring.md, "Deadlines"). */
  firstTokenTimeout: number;
  tokenTimeout: number;
  logFormat: LogFormatRequest;
}

/** Exit codes of `node-peer start` (README, docs/operating.md). */
export const EXIT = { ok: 0, error: 1, usage: 2, insufficientMemory: 3, signalingUnreachable: 4, joinRefused: 5 } as const;
