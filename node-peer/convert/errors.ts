import { RingmeshError } from '../../shared/errors.ts';

/** A checkpoint file is truncated, foreign, or its header/size/dtype does not describe a model. */
export class CheckpointFormatError extends RingmeshError {
  constructor(readonly file: string, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
  }
}

/** config.json names a model class this converter does not handle. */
export class UnsupportedArchitectureError extends RingmeshError {
  constructor(readonly file: string, readonly architecture: string) {
    super(`${file}: unsupported architecture ${architecture}; expected one of LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM`);
  }
}

/** A tensor is missing from a checkpoint or has another shape than the config implies. */
export class TensorShapeError extends RingmeshError {
  constructor(readonly file: string, readonly tensor: string, expected: readonly number[], actual: readonly number[] | null) {
    super(`${file}: tensor ${tensor} ${actual === null ? 'is missing' : `has shape [${actual.join(', ')}]`}, expected [${expected.join(', ')}]`);
  }
}

/** The tokenizer a conversion needs is absent. */
export class TokenizerMissingError extends RingmeshError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** The source path is neither a llama2.c checkpoint file nor a Hugging Face checkpoint directory. */
export class UnknownSourceError extends RingmeshError {
  constructor(readonly file: string, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
  }
}

/** A requested demo-model shape cannot form a Llama model (heads not dividing hidden, tiny vocab …). */
export class InvalidModelShapeError extends RingmeshError {
  constructor(detail: string) {
    super(`demo model shape: ${detail}`);
  }
}
