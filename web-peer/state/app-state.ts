import type { SwarmProgress } from '../../shared/pieces/progress.ts';
import { createStore, type Store } from './store.ts';

/** What this browser can run the model on. */
export type Detection =
  | { readonly state: 'detecting' }
  | { readonly state: 'webgpu'; readonly adapter: string; readonly limits?: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number } }
  | { readonly state: 'wasm'; readonly reason: string };

export interface RingMember {
  readonly peerId: string;
  readonly kind: 'node' | 'browser';
  readonly memoryBytes: number;
  /**
   * This tab's open link to the member, when it has one: smoothed round trip (null: not measured
   * yet), whether relayed, and the bytes/s of pieces received over it (null: none yet).
   */
  readonly link?: { readonly rttMs: number | null; readonly relayed: boolean | null; readonly throughputBps?: number | null };
}

export interface RingStage {
  readonly peerId: string;
  readonly start: number;
  readonly end: number;
}

export interface CachedModel {
  readonly modelId: string;
  readonly name: string;
  /** Bytes of its pieces held in this browser. */
  readonly bytes: number;
  /** Bytes of the whole model (more than `bytes` when this tab holds only its layers). */
  readonly totalBytes: number;
}

export interface ChatTurn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
  /** Assistant turns: still streaming. */
  readonly streaming?: boolean;
  readonly error?: string;
  readonly tokens?: number;
  readonly tokensPerSecond?: number;
}

/** The storage check before this tab downloads its units (web-peer/store/storage-guard.ts). */
export interface StorageCheck {
  readonly usage: number;
  readonly quota: number;
  /** Bytes of the units this tab asked for (the manifest's unit sizes). */
  readonly neededBytes: number;
  /** Of those, bytes not stored yet (what the download writes). */
  readonly missingBytes: number;
  /** Names of the cached models evicted to make room. */
  readonly evicted: readonly string[];
  /** Set when even evicting every other model leaves too little: nothing was downloaded. */
  readonly short: { readonly freeBytes: number; readonly evictableBytes: number; readonly wantBytes: number; readonly shortBytes: number } | null;
}

/** Persistent storage (`navigator.storage.persist()`), asked once on contribute or download. */
export type Persistence = 'unsupported' | 'not-asked' | 'granted' | 'denied';

export type Phase = 'idle' | 'joining' | 'watching' | 'contributing' | 'error';

/** The page's whole state; controllers write it, components render it. */
export interface AppState {
  readonly detection: Detection;
  readonly budgetBytes: number;
  readonly phase: Phase;
  readonly error: string | null;
  readonly modelId: string | null;
  readonly modelName: string | null;
  readonly numLayers: number | null;
  readonly peerId: string | null;
  readonly signaling: string;
  readonly members: readonly RingMember[];
  readonly ring: readonly RingStage[];
  readonly planEpoch: number | null;
  readonly layers: { readonly start: number; readonly end: number } | null;
  readonly stageLoaded: boolean;
  readonly ringReady: boolean;
  readonly missingBytes: number | null;
  readonly pieces: SwarmProgress | null;
  /** Tokens per second through this tab's stage (last few seconds). */
  readonly tokensPerSecond: number;
  readonly tokensServed: number;
  readonly chatReady: boolean;
  readonly chat: readonly ChatTurn[];
  readonly cached: readonly CachedModel[];
  /** Bytes this origin uses in browser storage (navigator.storage.estimate), or null when unknown. */
  readonly storageBytes: number | null;
  /** The origin's storage quota (navigator.storage.estimate), or null when unknown. */
  readonly storageQuota: number | null;
  readonly storageCheck: StorageCheck | null;
  readonly persistence: Persistence;
  /** The visitor typed a budget: the detected default no longer replaces it. */
  readonly budgetFromUser: boolean;
  /** What the default budget came from (docs/web-page.md), null until detected or once the visitor typed one. */
  readonly budgetSource: 'webgpu' | 'wasm' | 'device-memory' | null;
}

/** Offered until detection gives the default (controllers/memory-budget.ts). */
const DEFAULT_BUDGET = 256 * 1024 * 1024;

export function createAppStore(): Store<AppState> {
  return createStore<AppState>({
    detection: { state: 'detecting' },
    budgetBytes: DEFAULT_BUDGET,
    phase: 'idle',
    error: null,
    modelId: null,
    modelName: null,
    numLayers: null,
    peerId: null,
    signaling: 'idle',
    members: [],
    ring: [],
    planEpoch: null,
    layers: null,
    stageLoaded: false,
    ringReady: false,
    missingBytes: null,
    pieces: null,
    tokensPerSecond: 0,
    tokensServed: 0,
    chatReady: false,
    chat: [],
    cached: [],
    storageBytes: null,
    storageQuota: null,
    storageCheck: null,
    persistence: 'not-asked',
    budgetFromUser: false,
    budgetSource: null,
  });
}
