import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointFormatError, TensorShapeError } from './errors.ts';
import type { TensorSource } from './llama-units.ts';
import { openSafetensors, type SafetensorsFile } from './safetensors.ts';

/** The safetensors files of a checkpoint directory: model.safetensors or a sharded index. */
export interface HfWeights {
  /** Whether the checkpoint lists tensor `name` (Hugging Face spelling). */
  has(name: string): boolean;
  source(tiedEmbeddings: boolean): TensorSource;
  close(): Promise<void>;
}

export async function openHfWeights(dir: string): Promise<HfWeights> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  let files: string[];
  let weightMap: Record<string, string> | undefined;
  if (await exists(index)) {
    let map: Record<string, string>;
    try {
      map = (JSON.parse(await readFile(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
      if (typeof map !== 'object' || map === null) throw new TypeError('no weight_map');
    } catch (err) {
      throw new CheckpointFormatError(index, 'not a safetensors index (expected JSON with a weight_map)', { cause: err });
    }
    weightMap = map;
    files = [...new Set(Object.values(map))].map((f) => {
      if (!/^[\w.-]+$/.test(f)) throw new CheckpointFormatError(index, `shard name ${f} is not a plain file name`);
      return join(dir, f);
    });
  } else if (await exists(single)) {
    files = [single];
  } else {
    throw new CheckpointFormatError(dir, 'no model.safetensors or model.safetensors.index.json');
  }
  const opened: SafetensorsFile[] = [];
  try {
    for (const f of files) opened.push(await openSafetensors(f));
  } catch (err) {
    await Promise.all(opened.map((o) => o.close()));
    throw err;
  }
  // A sharded checkpoint's index says which shard holds each tensor; a single file holds them all.
  const where = new Map<string, SafetensorsFile>();
  const byPath = new Map(opened.map((o) => [o.file, o]));
  if (weightMap === undefined) for (const name of (opened[0] as SafetensorsFile).entries.keys()) where.set(name, opened[0] as SafetensorsFile);
  else for (const [name, f] of Object.entries(weightMap)) where.set(name, byPath.get(join(dir, f)) as SafetensorsFile);
  return {
    has: (name) => where.has(name),
    source: (tied) => {
      const locate = (name: string, shape: readonly number[]): { file: SafetensorsFile; hfName: string } => {
        const hfName = hfTensorName(name, tied);
        const file = where.get(hfName);
        const entry = file?.entries.get(hfName);
        if (file === undefined || entry === undefined) throw new TensorShapeError(files.length === 1 ? (files[0] as string) : index, hfName, shape, null);
        if (entry.shape.join() !== shape.join()) throw new TensorShapeError(file.file, hfName, shape, entry.shape);
        return { file, hfName };
      };
      return {
        async get(name, shape) {
          const { file, hfName } = locate(name, shape);
          return file.readFloat32(hfName);
        },
        async getRows(name, shape, start, count) {
          const { file, hfName } = locate(name, shape);
          return file.readRowsFloat32(hfName, start, count);
        },
      };
    },
    close: async () => {
      await Promise.all(opened.map((o) => o.close()));
    },
  };
}

/** Manifest tensor name → Hugging Face Llama-family name (q/k already rotate-half: no permute). */
export function hfTensorName(name: string, tied: boolean): string {
  if (name === 'embed.weight') return 'model.embed_tokens.weight';
  if (name === 'final_norm.weight') return 'model.norm.weight';
  if (name === 'lm_head.weight') return tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const m = /^layers\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  const hf = m === null ? undefined : HF_LAYER_NAMES[m[2] as string];
  if (m === null || hf === undefined) throw new TypeError(`no Hugging Face name for ${name}`);
  return `model.layers.${m[1]}.${hf}.${m[3]}`;
}

const HF_LAYER_NAMES: Record<string, string> = {
  attn_norm: 'input_layernorm',
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  ffn_norm: 'post_attention_layernorm',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
