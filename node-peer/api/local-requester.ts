import { randomInt } from 'node:crypto';
import type { Engine, Stage } from '../../shared/engine/engine.ts';
import { runChain } from '../../shared/generate/stage-chain.ts';
import { asPeerId, asSessionId, type PeerId } from '../../shared/ids.ts';
import type { ModelManifest } from '../../shared/model/manifest.ts';
import { DeadlineExceededError } from '../../shared/ring/errors.ts';
import { toRequestSpec, type GenerateOptions, type Requester, type TokenEvent } from '../../shared/ring/requester.ts';
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

/** The Requester over a chain of loaded stages in this process. */
export function createStagesRequester(peerId: PeerId, stages: readonly Stage[], contextLength: number): Requester {
  let next = 0;
  return {
    peerId,
    generate(prompt: readonly number[], options: GenerateOptions): AsyncIterable<TokenEvent> {
      const spec = toRequestSpec(prompt, options, Date.now(), () => randomInt(0, 2 ** 31));
      const session = asSessionId(`local-${process.pid}-${next++}`);
      return (async function* (): AsyncGenerator<TokenEvent> {
        const tokens: number[] = [];
        const signal = options.signal;
        try {
          if (spec.prompt.length >= contextLength) {
            yield { kind: 'end', reason: 'length', tokens };
            return;
          }
          let logits = await runChain(stages, session, spec.prompt);
          for (let step = 0; ; step++) {
            if (signal?.aborted === true) {
              yield { kind: 'end', reason: 'cancelled', tokens };
              return;
            }
            if (spec.deadlineAt !== undefined && Date.now() > spec.deadlineAt) throw new DeadlineExceededError(session, spec.deadlineAt, tokens.length);
            const id = pickStepToken(logits, spec.sampling, step);
            if (spec.stop.includes(id)) {
              yield { kind: 'end', reason: 'stop', tokens, stopToken: id };
              return;
            }
            tokens.push(id);
            yield { kind: 'token', step, id };
            if (tokens.length >= spec.maxTokens || spec.prompt.length + tokens.length >= contextLength) {
              yield { kind: 'end', reason: 'length', tokens };
              return;
            }
            logits = await runChain(stages, session, [id]);
          }
        } finally {
          for (const s of stages) s.freeSession(session);
        }
      })();
    },
  };
}
