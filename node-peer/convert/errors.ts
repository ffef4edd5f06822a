import { RingmeshError } from '../../shared/errors.ts';

/** A checkpoint file is truncated, foreign, or its header/size/dtype does not describe a model. */
export class CheckpointFormatError extends RingmeshError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** config.json (or a GGUF's general.architecture) names a model class this converter does not handle. */
export class UnsupportedArchitectureError extends RingmeshError {
  constructor(
    readonly file: string,
    readonly architecture: string,
    expected = 'one of LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM',
  ) {
    super(`${file}: unsupported architecture ${architecture}; expected ${expected}`);
  }
}

/** A tensor is missing from a checkpoint or has another shape than the config implies. */
export class TensorShapeError extends RingmeshError {
  constructor(
    readonly file: string,
    readonly tensor: string,
    expected: readonly number[],
    actual: readonly number[] | null,
  ) {
    super(`${file}: tensor ${tensor} ${actual === null ? 'is missing' : `has shape [${actual.join(', ')}]`}, expected [${expected.join(', ')}]`);
  }
}

/** The tokenizer a conversion needs is absent. */
export class TokenizerMissingError extends RingmeshError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** The source path is neither a llama2.c checkpoint file nor a Hugging Face checkpoint directory. */
export class UnknownSourceError extends RingmeshError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** A requested demo-model shape cannot form a Llama model (heads not dividing hidden, tiny vocab …). */
export class InvalidModelShapeError extends RingmeshError {
  constructor(detail: string) {
    super(`demo model shape: ${detail}`);
  }
}

/** A GGUF tensor the model needs is stored in a type the converter cannot read (k-quants, IQ …). */
export class UnsupportedTensorTypeError extends RingmeshError {
  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly type: string,
  ) {
    super(
      `${file}: tensor ${tensor} has GGML type ${type}; supported: F32, F16, Q8_0, Q4_0 (re-quantize the GGUF to one of these, or convert from the safetensors checkpoint)`,
    );
  }
}
