// What a PieceSwarm is built with and what it reports (docs/pieces.md, "Exchange", "Progress").
import type { ModelManifest, UnitName } from '../model/manifest.ts';
import type { Clock } from '../util/clock.ts';
import type { PeerMisbehavedError } from './errors.ts';
import type { Origin } from './origin.ts';
import type { ModelStore } from './piece-store.ts';
import type { SwarmProgress } from './progress.ts';
import type { SchedulerLimits } from './scheduler.ts';

export interface PieceSwarmOptions {
  readonly modelId: string;
  /** Verified store (`withVerification`): what it returns has been re-hashed. */
  readonly store: ModelStore;
  /** Remote origin (HTTP, shared directory): used only as the scheduler allows. */
  readonly origin?: Origin;
  /** This peer's own copy of the package: imported first, no coordination needed. */
  readonly localPackage?: Origin;
  /** Units of this peer's partition (tier 0); 'all' for every unit. */
  readonly units: (manifest: ModelManifest) => readonly UnitName[] | 'all';
  /** Also fetch and keep every other unit (tier 1), as a seeding server does. */
  readonly replicaFull: boolean;
  /** This peer's id (known once signaling welcomed it). */
  readonly self: () => string;
  readonly clock: Clock;
  readonly rng: () => number;
  readonly limits?: Partial<SchedulerLimits>;
  readonly requestTimeoutMs?: number;
  /** A peer with requests pending that sent nothing for this long is not counted on (and pinged). */
  readonly peerStallMs?: number;
  /** How long a peer without a manifest waits for one from peers before asking the origin. */
  readonly manifestGraceMs?: number;
  readonly tickMs?: number;
  /**
   * Bytes of recently stored pieces kept in memory to serve without a store read and re-hash
   * (streaming relay: what peers ask for is mostly what just arrived). Default 64 MiB; 0 disables.
   */
  readonly serveCacheBytes?: number;
  /** Told why each origin read starts (the view it was decided on): for diagnosing duplicate reads. */
  readonly trace?: (line: string) => void;
}

export interface PieceSwarmEvents {
  progress: SwarmProgress;
  ready: ModelManifest;
  'peer-dropped': PeerMisbehavedError;
  /** An origin read failed after its retries; the piece is tried again after a pause. */
  'origin-failed': Error;
  /** Fatal: the store cannot write (disk full, no permission); `ready` rejects too. */
  error: Error;
}
