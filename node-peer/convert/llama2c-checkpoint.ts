import type { FileHandle } from 'node:fs/promises';
import type { LlamaArchitecture } from '../../shared/model/manifest.ts';
import { CheckpointFormatError } from './errors.ts';

export const LLAMA2C_HEADER_BYTES = 28;

/** The 7 int32 of a llama2.c checkpoint header. */
export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  /** Always positive here; `shared` carries the sign. */
  readonly vocabSize: number;
  readonly seqLen: number;
  /** Classifier shares the token embedding (header vocab_size > 0). */
  readonly shared: boolean;
}

/** Byte offset of each tensor block in the file (each block holds all layers in order). */
export interface Llama2cLayout {
  readonly header: Llama2cHeader;
  readonly offsets: Readonly<Record<'embed' | 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3' | 'rmsFinal' | 'wcls', number>>;
  readonly fileBytes: number;
}

const LIMIT = 1 << 20; // sanity bound for any header field: rejects foreign files early

/** Parses and validates the header; the file must be exactly as long as the header implies. */
export function parseLlama2cHeader(bytes: Uint8Array, fileBytes: number, file: string): Llama2cLayout {
  if (fileBytes < LLAMA2C_HEADER_BYTES || bytes.length < LLAMA2C_HEADER_BYTES) {
    throw new CheckpointFormatError(file, `truncated: ${fileBytes} bytes, expected a ${LLAMA2C_HEADER_BYTES}-byte llama2.c header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LLAMA2C_HEADER_BYTES);
  const f = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = f as [number, number, number, number, number, number, number];
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
  f.forEach((v, i) => {
    const value = i === 5 ? Math.abs(v) : v;
    if (value <= 0 || value > LIMIT) {
      throw new CheckpointFormatError(
        file,
        `not a llama2.c checkpoint: header ${names[i]} = ${v}, expected 1..${LIMIT}${i === 5 ? ' (negative: unshared classifier)' : ''}`,
      );
    }
  });
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw new CheckpointFormatError(
      file,
      `bad header: dim ${dim}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}; expected n_heads | dim, n_kv_heads | n_heads, even head size`,
    );
  }
  const header: Llama2cHeader = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocabRaw), seqLen, shared: vocabRaw > 0 };
  const headSize = dim / nHeads;
  const kvDim = (dim * nKvHeads) / nHeads;
  const L = nLayers;
  const sizes: [Exclude<keyof Llama2cLayout['offsets'], 'wcls'>, number][] = [
    ['embed', header.vocabSize * dim],
    ['rmsAtt', L * dim],
    ['wq', L * dim * dim],
    ['wk', L * kvDim * dim],
    ['wv', L * kvDim * dim],
    ['wo', L * dim * dim],
    ['rmsFfn', L * dim],
    ['w1', L * hiddenDim * dim],
    ['w2', L * dim * hiddenDim],
    ['w3', L * hiddenDim * dim],
    ['rmsFinal', dim],
  ];
  const offsets: Partial<Record<keyof Llama2cLayout['offsets'], number>> = {};
  let at = LLAMA2C_HEADER_BYTES;
  for (const [name, floats] of sizes) {
    offsets[name] = at;
    at += floats * 4;
  }
  at += seqLen * headSize * 4; // legacy RoPE tables: freq_cis_real + freq_cis_imag, seq_len*head_size/2 each, skipped
  offsets.wcls = header.shared ? LLAMA2C_HEADER_BYTES : at;
  const expected = header.shared ? at : at + header.vocabSize * dim * 4;
  if (fileBytes !== expected) {
    throw new CheckpointFormatError(
      file,
      `${fileBytes < expected ? 'truncated' : 'size mismatch'}: ${fileBytes} bytes, expected ${expected} for dim ${dim}, hidden ${hiddenDim}, ${nLayers} layers, vocab ${header.vocabSize} (${header.shared ? 'shared' : 'unshared'} classifier), seq_len ${seqLen}`,
    );
  }
  return { header, offsets: offsets as Llama2cLayout['offsets'], fileBytes };
}

export function llama2cArchitecture(h: Llama2cHeader): LlamaArchitecture {
  return {
    family: 'llama',
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numLayers: h.nLayers,
    numHeads: h.nHeads,
    numKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    vocabSize: h.vocabSize,
    contextLength: h.seqLen,
    ropeTheta: 10000,
    ropeScaling: null,
    rmsEps: 1e-5,
    tiedEmbeddings: h.shared,
    attentionBias: false,
  };
}

/** Reads `floats` little-endian float32 at `offset`. */
export async function readFloats(fh: FileHandle, offset: number, floats: number): Promise<Float32Array> {
  const out = new Float32Array(floats);
  const bytes = new Uint8Array(out.buffer);
  let done = 0;
  while (done < bytes.length) {
    const { bytesRead } = await fh.read(bytes, done, bytes.length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return out;
}
