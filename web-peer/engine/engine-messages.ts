import type { StageInput, StageOutput } from '../../shared/engine/engine.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import type { ModelManifest, UnitName } from '../../shared/model/manifest.ts';

/** What the page posts to the engine Worker. Every request carries `id`; the reply echoes it. */
export type EngineRequest =
  | {
      readonly type: 'load';
      readonly id: number;
      readonly manifest: ModelManifest;
      readonly range: LayerRange;
      readonly units: readonly (readonly [UnitName, Uint8Array])[];
      readonly threads?: number;
    }
  | { readonly type: 'run'; readonly id: number; readonly stage: number; readonly session: string; readonly input: StageInput }
  | { readonly type: 'free'; readonly id: number; readonly stage: number; readonly session: string }
  | { readonly type: 'dispose-stage'; readonly id: number; readonly stage: number }
  | { readonly type: 'dispose'; readonly id: number };

/** The Worker's replies. Errors travel as name + message (classes do not survive postMessage). */
export type EngineReply =
  | { readonly type: 'loaded'; readonly id: number; readonly stage: number; readonly kind: string }
  | { readonly type: 'output'; readonly id: number; readonly output: StageOutput }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'error'; readonly id: number; readonly name: string; readonly message: string };

/** The part of a MessagePort / Worker / worker global scope the two ends use (Node's MessagePort fits too). */
export interface MessagePortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}
