import { randomInt } from 'node:crypto';
import type { Engine, Stage } from '../../shared/engine/engine.ts';
import { decodeSteps } from '../../shared/generate/decode-steps.ts';
import { PromptTooLongError } from '../../shared/generate/errors.ts';
import { asPeerId, asSessionId, type PeerId, type SessionId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { DeadlineExceededError } from '../../shared/ring/errors.ts';
import { toRequestSpec, type GenerateOptions, type Requester, type TokenEvent } from '../../shared/ring/requester.ts';
import type { RequestSpec } from '../../shared/ring/requester-state.ts';
import { pickStepToken } from '../../shared/ring/step-sampler.ts';
import { createTokenizer } from '../../shared/tokenizer/create-tokenizer.ts';
import type { Tokenizer } from '../../shared/tokenizer/tokenizer.ts';
import { loadChain } from '../engine/load-chain.ts';
import { openModelPackage } from '../model/open-model-package.ts';

export interface LocalModel {
  readonly manifest: ModelManifest;
  readonly modelId: string;
  readonly tokenizer: Tokenizer;
  readonly tokenizerBytes: Uint8Array;
  readonly requester: Requester;
  close(): Promise<void>;
}

/**
 * A `Requester` on this process alone: the whole model as one stage on `engine`, sampled exactly
 * as a ring's last stage samples (`pickStepToken`), so its ids equal the ring's for the same
 * request. Serves the API without a ring (a single machine) and is the reference the ring is
 * compared with. Several generations may run at once; the stage queues their runs.
 */
export async function openLocalModel(modelDir: string, engine: Engine, threads?: number): Promise<LocalModel> {
  const pkg = await openModelPackage(modelDir);
  const arch = pkg.manifest.architecture;
  const tokenizerBytes = await pkg.readTokenizer();
  const tokenizer = createTokenizer(pkg.manifest.tokenizer, tokenizerBytes, arch.vocabSize);
  const stages = await loadChain(engine, pkg, [{ start: 0, end: arch.numLayers }], threads);
  const requester = createStagesRequester(asPeerId('local'), stages, arch.contextLength);
  return {
    manifest: pkg.manifest,
    modelId: pkg.modelId,
    tokenizer,
    tokenizerBytes,
    requester,
    async close() {
      for (const s of stages) await s.dispose();
    },
  };
}

/**
 * The Requester over a chain of loaded stages in this process: `decodeSteps` with the Requester's
 * contract — the context bound (prompt + tokens ≤ the context; a prompt that fills it ends with
 * `length` at once), the stop id in `stopToken` rather than in `tokens`, an abort ending with
 * `cancelled`, a passed deadline thrown as DeadlineExceededError.
 */
export function createStagesRequester(peerId: PeerId, stages: readonly Stage[], contextLength: number): Requester {
  let next = 0;
  return {
    peerId,
    generate(prompt: readonly number[], options: GenerateOptions): AsyncIterable<TokenEvent> {
      const spec = toRequestSpec(prompt, options, Date.now(), () => randomInt(0, 2 ** 31));
      const session = asSessionId(`local-${process.pid}-${next++}`);
      return stageEvents(stages, contextLength, spec, session, options.signal);
    },
  };
}

async function* stageEvents(
  stages: readonly Stage[],
  contextLength: number,
  spec: RequestSpec,
  session: SessionId,
  signal: AbortSignal | undefined,
): AsyncGenerator<TokenEvent> {
  const steps = decodeSteps(stages, {
    session,
    promptIds: spec.prompt,
    pick: (logits, step) => pickStepToken(logits, spec.sampling, step),
    stopIds: spec.stop,
    maxTokens: spec.maxTokens,
    // The last token (at position contextLength − 1) is emitted, never run.
    maxPositions: contextLength - 1,
    ...(signal === undefined ? {} : { signal }),
  });
  const tokens: number[] = [];
  let stopToken: number | undefined;
  try {
    for await (const s of steps) {
      if (spec.deadlineAt !== undefined && Date.now() > spec.deadlineAt) throw new DeadlineExceededError(session, spec.deadlineAt, tokens.length);
      if (s.end === 'stop-id') {
        stopToken = s.id;
        break;
      }
      tokens.push(s.id);
      yield { kind: 'token', step: s.step, id: s.id };
    }
  } catch (e) {
    if (e instanceof PromptTooLongError) {
      yield { kind: 'end', reason: 'length', tokens };
      return;
    }
    if (signal?.aborted !== true || e !== signal.reason) throw e;
    yield { kind: 'end', reason: 'cancelled', tokens };
    return;
  }
  // The loop has ended, so the session is already freed when the end is read.
  yield stopToken === undefined ? { kind: 'end', reason: 'length', tokens } : { kind: 'end', reason: 'stop', tokens, stopToken };
}
