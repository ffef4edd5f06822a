// `npm start -- …` flags: which model the demo serves. Pure (no I/O) so it is unit-tested.
import { parseArgs } from 'node:util';
import { RingmeshError } from '../shared/errors.ts';
import type { DemoModelShape } from '../node-peer/convert/demo-model.ts';

/** A flag `npm start` does not know, or a value it cannot use. */
export class StartOptionError extends RingmeshError {}

/** The model `npm start` serves. */
export type StartModel =
  /** The built-in trained model (models/aidreams260K.bin + its llama2.c tokenizer), converted to q8. */
  | { readonly kind: 'aidreams' }
  /** A seeded random model of any size (byte-level tokenizer: it prints noise, but shows the ring at scale). */
  | { readonly kind: 'random'; readonly shape: Required<Pick<DemoModelShape, 'layers' | 'hidden' | 'heads' | 'kvHeads' | 'vocab' | 'context' | 'seed'>> }
  /** A model package directory made by `node-peer convert` or `node-peer demo-model`. */
  | { readonly kind: 'dir'; readonly dir: string };

export type StartOptions = { readonly help: true } | { readonly help: false; readonly model: StartModel };

/** The random demo's default shape: 8 layers of hidden 256 (~6M parameters, ~25 MB fp32). */
export const RANDOM_DEFAULTS = { layers: 8, hidden: 256, heads: 8, kvHeads: 4, vocab: 512, context: 1024, seed: 0 } as const;

const SHAPE_FLAGS = ['layers', 'hidden', 'heads', 'kv-heads', 'vocab', 'context', 'seed'] as const;

export const START_USAGE = `usage: npm start [-- --model aidreams | --model random [shape flags] | --model <package dir>]

  --model aidreams   (default) a small trained model (aidreams260K, llama2.c, 4 layers of 64) with its
                     512-token tokenizer, converted to q8 once into the state dir: it writes readable text
  --model random     a seeded random model of any size; writes noise, for trying the ring at scale:
      --layers N (${RANDOM_DEFAULTS.layers})  --hidden N (${RANDOM_DEFAULTS.hidden})  --heads N (${RANDOM_DEFAULTS.heads})  --kv-heads N (${RANDOM_DEFAULTS.kvHeads})
      --vocab N (${RANDOM_DEFAULTS.vocab})  --context N (${RANDOM_DEFAULTS.context})  --seed N (${RANDOM_DEFAULTS.seed})
  --model <dir>      a package written by \`node-peer convert\` or \`node-peer demo-model\`

Environment: RINGMESH_STATE_DIR, RINGMESH_PORT, RINGMESH_API_PORT, RINGMESH_HOST,
RINGMESH_DEMO_MEMORY, RINGMESH_BIND_ADDRESS (docs/operating.md).
`;

export function parseStartOptions(argv: readonly string[]): StartOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        model: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(SHAPE_FLAGS.map((f) => [f, { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new StartOptionError((err as Error).message, { cause: err });
  }
  if (values['help'] === true) return { help: true };
  const model = (values['model'] as string | undefined) ?? 'aidreams';
  const given = SHAPE_FLAGS.filter((f) => values[f] !== undefined);
  if (model !== 'random') {
    if (given.length > 0) throw new StartOptionError(`--${given[0]} sizes the random model: add --model random`);
    if (model === '') throw new StartOptionError('--model needs a value: aidreams, random or a package directory');
    return { help: false, model: model === 'aidreams' ? { kind: 'aidreams' } : { kind: 'dir', dir: model } };
  }
  const int = (flag: (typeof SHAPE_FLAGS)[number], fallback: number, min: number): number => {
    const raw = values[flag] as string | undefined;
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) throw new StartOptionError(`--${flag} ${raw}: expected an integer ≥ ${min}`);
    return n;
  };
  const heads = int('heads', RANDOM_DEFAULTS.heads, 1);
  const shape = {
    layers: int('layers', RANDOM_DEFAULTS.layers, 1),
    hidden: int('hidden', RANDOM_DEFAULTS.hidden, 1),
    heads,
    // The default keeps grouped-query attention (half the heads) when the heads split evenly.
    kvHeads: int('kv-heads', values['heads'] === undefined ? RANDOM_DEFAULTS.kvHeads : heads % 2 === 0 ? heads / 2 : heads, 1),
    vocab: int('vocab', RANDOM_DEFAULTS.vocab, 259),
    context: int('context', RANDOM_DEFAULTS.context, 2),
    seed: int('seed', RANDOM_DEFAULTS.seed, 0),
  };
  if (shape.seed > 0xffffffff) throw new StartOptionError(`--seed ${shape.seed}: expected at most 4294967295`);
  return { help: false, model: { kind: 'random', shape } };
}

/** The package directory name for a random shape under the state dir: one per shape, written once. */
export function randomModelDirName(s: Extract<StartModel, { kind: 'random' }>['shape']): string {
  return `demo-${s.layers}x${s.hidden}-h${s.heads}kv${s.kvHeads}-v${s.vocab}-c${s.context}-seed${s.seed}`;
}
