import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../../node-peer/convert/convert-model.ts';
import {
  CheckpointFormatError,
  TensorShapeError,
  TokenizerMissingError,
  UnknownSourceError,
  UnsupportedArchitectureError,
} from '../../../node-peer/convert/errors.ts';
import { encodeSafetensors } from '../../../node-peer/convert/safetensors.ts';
import { OutputExistsError } from '../../../node-peer/model/errors.ts';
import { openModelPackage } from '../../../node-peer/model/open-model-package.ts';
import { PieceHashMismatchError } from '../../../shared/model/errors.ts';
import { TokenizerFormatError } from '../../../shared/tokenizer/errors.ts';
import { serializeLlama2cVocab, parseLlama2cVocab } from '../../../shared/tokenizer/llama2c-vocab.ts';
import { writeHfCheckpoint } from '../../util/hf-checkpoint.ts';
import { MODELS_DIR } from '../../util/models.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const tmp = makeTempDir('bad-input');
afterAll(tmp.cleanup);
const CKPT = join(MODELS_DIR, 'stories260K.bin');
const TOK = join(MODELS_DIR, 'aidreams-tok512.bin');
const ckptBytes = readFileSync(CKPT);

/** A scratch folder per case; the output goes inside it so leftovers (temp dirs too) are visible. */
function scratch(name: string): { dir: string; out: string } {
  const dir = tmp.path(name);
  mkdirSync(dir, { recursive: true });
  return { dir, out: join(dir, 'out') };
}

async function expectRejected(
  run: (out: string) => Promise<unknown>,
  name: string,
  errorClass: new (...args: never[]) => Error,
  fileInMessage: string,
  make?: (dir: string) => Promise<void> | void,
): Promise<void> {
  const { dir, out } = scratch(name);
  const before = new Set(readdirSync(dir));
  await make?.(dir);
  const inputs = new Set(readdirSync(dir));
  const err = await run(out).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(errorClass);
  expect((err as Error).message).toContain(fileInMessage);
  // Nothing left behind: neither the output nor a temporary sibling of it.
  expect(readdirSync(dir).filter((f) => !inputs.has(f) && !before.has(f))).toEqual([]);
}

function withHeader(patch: (v: DataView) => void): Buffer {
  const b = Buffer.from(ckptBytes);
  patch(new DataView(b.buffer, b.byteOffset, 28));
  return b;
}

describe('bad llama2.c input', () => {
  const file = (dir: string, bytes: Uint8Array): string => {
    writeFileSync(join(dir, 'model.bin'), bytes);
    return join(dir, 'model.bin');
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', ckptBytes.subarray(0, ckptBytes.length - 1000), /truncated/],
    ['truncated header', ckptBytes.subarray(0, 20), /truncated/],
    ['foreign (a tokenizer file)', readFileSync(TOK), /not a llama2.c checkpoint/],
    ['wrong header: heads not dividing dim', withHeader((v) => v.setInt32(12, 7, true)), /n_heads/],
    ['wrong header: layer count vs size', withHeader((v) => v.setInt32(8, 6, true)), /truncated/],
    ['size mismatch: trailing bytes', Buffer.concat([ckptBytes, Buffer.alloc(8)]), /size mismatch/],
  ];
  for (const [what, bytes, detail] of cases) {
    it(`${what}: CheckpointFormatError naming the file`, async () => {
      let path = '';
      await expectRejected(
        (out) => convertModel(path, out, { tokenizer: TOK }),
        what.replace(/\W+/g, '-'),
        CheckpointFormatError,
        'model.bin',
        (dir) => {
          path = file(dir, bytes);
        },
      );
      await expect(convertModel(path, join(tmp.dir, 'never'), { tokenizer: TOK })).rejects.toThrow(detail);
    });
  }

  it('missing tokenizer: TokenizerMissingError', async () => {
    await expectRejected((out) => convertModel(CKPT, out), 'no-tok', TokenizerMissingError, CKPT);
    await expectRejected((out) => convertModel(CKPT, out, { tokenizer: join(tmp.dir, 'nope.bin') }), 'no-tok-file', TokenizerMissingError, 'nope.bin');
  });

  it('mismatched tokenizer (vocab size differs): TokenizerFormatError', async () => {
    const vocab = parseLlama2cVocab(new Uint8Array(readFileSync(TOK)), TOK, 512);
    const small = join(tmp.dir, 'tok300.bin');
    writeFileSync(small, serializeLlama2cVocab(vocab.pieces.slice(0, 300), vocab.scores.slice(0, 300)));
    await expectRejected((out) => convertModel(CKPT, out, { tokenizer: small }), 'small-tok', TokenizerFormatError, 'tok300.bin');
  });

  it('foreign tokenizer (a checkpoint given as tokenizer.bin): TokenizerFormatError naming it', async () => {
    await expectRejected((out) => convertModel(CKPT, out, { tokenizer: CKPT }), 'foreign-tok', TokenizerFormatError, CKPT);
  });

  it('truncated tokenizer: TokenizerFormatError naming it', async () => {
    const cut = join(tmp.dir, 'tok-cut.bin');
    writeFileSync(cut, readFileSync(TOK).subarray(0, 2000));
    await expectRejected((out) => convertModel(CKPT, out, { tokenizer: cut }), 'cut-tok', TokenizerFormatError, 'tok-cut.bin');
    await expect(convertModel(CKPT, join(tmp.dir, 'never'), { tokenizer: cut })).rejects.toThrow(/truncated/);
  });

  it('wrong header: kv heads not dividing heads: CheckpointFormatError naming the file', async () => {
    let path = '';
    await expectRejected(
      (out) => convertModel(path, out, { tokenizer: TOK }),
      'kv-heads',
      CheckpointFormatError,
      'model.bin',
      (dir) => {
        path = join(dir, 'model.bin');
        writeFileSync(
          path,
          withHeader((v) => v.setInt32(16, 3, true)),
        );
      },
    );
    await expect(convertModel(path, join(tmp.dir, 'never'), { tokenizer: TOK })).rejects.toThrow(/n_kv_heads/);
  });

  it('missing source: UnknownSourceError', async () => {
    await expectRejected((out) => convertModel(join(tmp.dir, 'absent.bin'), out, { tokenizer: TOK }), 'absent', UnknownSourceError, 'absent.bin');
  });
});

describe('bad Hugging Face input', () => {
  const hf = async (dir: string, edit?: (hfDir: string) => void): Promise<void> => {
    await writeHfCheckpoint(join(dir, 'hf'), CKPT, TOK, { dtype: 'F32', shards: 2 });
    edit?.(join(dir, 'hf'));
  };
  const editJson = (path: string, f: (j: Record<string, unknown>) => void): void => {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    f(j);
    writeFileSync(path, JSON.stringify(j));
  };
  const run = (name: string) => (out: string) => convertModel(join(tmp.path(name), 'hf'), out);

  it('unsupported architecture: UnsupportedArchitectureError naming config.json', async () => {
    await expectRejected(run('gpt2'), 'gpt2', UnsupportedArchitectureError, 'config.json', (d) =>
      hf(d, (h) => editJson(join(h, 'config.json'), (j) => (j.architectures = ['GPT2LMHeadModel']))),
    );
  });

  it('missing tokenizer.json: TokenizerMissingError', async () => {
    await expectRejected(run('no-tokjson'), 'no-tokjson', TokenizerMissingError, 'tokenizer.json', (d) => hf(d, (h) => rmSync(join(h, 'tokenizer.json'))));
  });

  it('tokenizer larger than the model vocab: TokenizerFormatError', async () => {
    await expectRejected(run('tok-vocab'), 'tok-vocab', TokenizerFormatError, 'tokenizer.json', (d) =>
      hf(d, (h) => editJson(join(h, 'config.json'), (j) => (j.vocab_size = 400))),
    );
  });

  it('a tensor of the wrong shape: TensorShapeError naming the shard and tensor', async () => {
    // A shard whose layer-1 k_proj is [16, 64] instead of [32, 64]; fails after earlier units were written.
    await expectRejected(run('shape'), 'shape', TensorShapeError, 'model.layers.1.self_attn.k_proj.weight', (d) =>
      hf(d, (h) => {
        const index = JSON.parse(readFileSync(join(h, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
        const name = 'model.layers.1.self_attn.k_proj.weight';
        const shard = 'model-extra.safetensors';
        index.weight_map[name] = shard;
        writeFileSync(join(h, 'model.safetensors.index.json'), JSON.stringify(index));
        const parts = encodeSafetensors([{ name, dtype: 'F32', shape: [16, 64], data: new Uint8Array(16 * 64 * 4) }]);
        writeFileSync(join(h, shard), Buffer.concat(parts));
      }),
    );
  });

  it('a foreign file as model.safetensors (a llama2.c checkpoint): CheckpointFormatError naming it', async () => {
    await expectRejected(run('foreign-st'), 'foreign-st', CheckpointFormatError, 'model.safetensors', async (d) => {
      await writeHfCheckpoint(join(d, 'hf'), CKPT, TOK, { dtype: 'F32' });
      writeFileSync(join(d, 'hf', 'model.safetensors'), ckptBytes);
    });
  });

  it('a safetensors header that is not JSON: CheckpointFormatError naming the file', async () => {
    await expectRejected(run('header-st'), 'header-st', CheckpointFormatError, 'model.safetensors', async (d) => {
      await writeHfCheckpoint(join(d, 'hf'), CKPT, TOK, { dtype: 'F32' });
      const f = join(d, 'hf', 'model.safetensors');
      const bytes = readFileSync(f);
      bytes.fill(0x7b, 8, 40); // '{{{{…': the 8-byte length stays, the JSON header is garbage
      writeFileSync(f, bytes);
    });
  });

  it('a config.json that is not JSON: CheckpointFormatError naming config.json', async () => {
    await expectRejected(run('config-json'), 'config-json', CheckpointFormatError, 'config.json', (d) =>
      hf(d, (h) => writeFileSync(join(h, 'config.json'), '{"architectures": ["LlamaForCausalLM"],')),
    );
  });

  it('a tokenizer.json that is not a tokenizer (foreign JSON): TokenizerFormatError naming it', async () => {
    await expectRejected(run('foreign-tokjson'), 'foreign-tokjson', TokenizerFormatError, 'tokenizer.json', (d) =>
      hf(d, (h) => writeFileSync(join(h, 'tokenizer.json'), readFileSync(join(h, 'config.json')))),
    );
  });

  it('a tokenizer.json that is not JSON: TokenizerFormatError naming it', async () => {
    await expectRejected(run('garbled-tokjson'), 'garbled-tokjson', TokenizerFormatError, 'tokenizer.json', (d) =>
      hf(d, (h) => writeFileSync(join(h, 'tokenizer.json'), readFileSync(TOK))),
    );
  });

  it('config.json with kv heads not dividing heads: CheckpointFormatError naming config.json', async () => {
    await expectRejected(run('cfg-kv'), 'cfg-kv', CheckpointFormatError, 'config.json', (d) =>
      hf(d, (h) => editJson(join(h, 'config.json'), (j) => (j.num_key_value_heads = 3))),
    );
  });

  it('config.json missing a required field: CheckpointFormatError naming config.json and the field', async () => {
    await expectRejected(run('cfg-field'), 'cfg-field', CheckpointFormatError, 'config.json', (d) =>
      hf(d, (h) => editJson(join(h, 'config.json'), (j) => delete j.hidden_size)),
    );
    await expect(run('cfg-field')(join(tmp.dir, 'never'))).rejects.toThrow(/hidden_size/);
  });

  it('no safetensors at all: CheckpointFormatError naming the directory', async () => {
    await expectRejected(run('no-st'), 'no-st', CheckpointFormatError, 'no-st', (d) =>
      hf(d, (h) => {
        for (const f of readdirSync(h)) if (f.includes('safetensors')) rmSync(join(h, f));
      }),
    );
  });

  it('a shard the index names is missing: CheckpointFormatError naming the shard', async () => {
    await expectRejected(run('no-shard'), 'no-shard', CheckpointFormatError, 'model-00002-of-00002.safetensors', (d) =>
      hf(d, (h) => rmSync(join(h, 'model-00002-of-00002.safetensors'))),
    );
  });

  it('a tensor the model needs is absent: TensorShapeError naming it', async () => {
    await expectRejected(run('absent-t'), 'absent-t', TensorShapeError, 'model.layers.2.mlp.up_proj.weight', (d) =>
      hf(d, (h) => {
        const p = join(h, 'model.safetensors.index.json');
        editJson(p, (j) => delete (j.weight_map as Record<string, string>)['model.layers.2.mlp.up_proj.weight']);
      }),
    );
  });

  it('a tensor of an unsupported dtype: CheckpointFormatError naming the file and tensor', async () => {
    await expectRejected(run('dtype'), 'dtype', CheckpointFormatError, 'model-extra.safetensors', (d) =>
      hf(d, (h) => {
        const name = 'model.layers.0.mlp.up_proj.weight';
        editJson(join(h, 'model.safetensors.index.json'), (j) => ((j.weight_map as Record<string, string>)[name] = 'model-extra.safetensors'));
        const parts = encodeSafetensors([{ name, dtype: 'F32', shape: [172, 64], data: new Uint8Array(172 * 64 * 4) }]);
        const bytes = Buffer.concat(parts);
        const at = bytes.indexOf('"F32"');
        bytes.write('"I32"', at); // same width, a dtype the converter does not take
        writeFileSync(join(h, 'model-extra.safetensors'), bytes);
      }),
    );
    await expect(run('dtype')(join(tmp.dir, 'never'))).rejects.toThrow(/up_proj.*I32/);
  });

  it('a truncated safetensors shard: CheckpointFormatError naming the shard', async () => {
    await expectRejected(run('trunc-st'), 'trunc-st', CheckpointFormatError, 'model-00002-of-00002.safetensors', (d) =>
      hf(d, (h) => {
        const f = join(h, 'model-00002-of-00002.safetensors');
        writeFileSync(f, readFileSync(f).subarray(0, 5000));
      }),
    );
  });
});

describe('package integrity', () => {
  it('a tampered piece: PieceHashMismatchError naming unit, piece, expected and actual hash', async () => {
    const out = tmp.path('tamper');
    await convertModel(CKPT, out, { tokenizer: TOK, pieceSize: 64 * 1024 });
    const f = join(out, 'layer-002.bin');
    const bytes = readFileSync(f);
    bytes[70_000] = (bytes[70_000] ?? 0) ^ 1;
    writeFileSync(f, bytes);
    const pkg = await openModelPackage(out);
    const err = await pkg.readUnit('layer-002').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PieceHashMismatchError);
    const e = err as PieceHashMismatchError;
    expect([e.unit, e.piece, e.expected]).toEqual(['layer-002', 1, pkg.manifest.units[3]?.pieces[1]]);
    expect(e.actual).toMatch(/^[0-9a-f]{64}$/);
    expect(e.actual).not.toBe(e.expected);
    expect(e.message).toContain(f);
    await expect(pkg.readUnit('layer-001')).resolves.toBeInstanceOf(Uint8Array);
  });

  it('refuses to overwrite a non-empty output directory', async () => {
    const { out } = scratch('exists');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'x');
    await expect(convertModel(CKPT, out, { tokenizer: TOK })).rejects.toBeInstanceOf(OutputExistsError);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });
});

describe('CLI exit codes', () => {
  const exec = promisify(execFile);
  const cli = (...args: string[]): Promise<{ code: number; stderr: string }> =>
    exec(process.execPath, [join(import.meta.dirname, '../../../bin/node-peer.js'), ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );

  it('convert of a truncated checkpoint exits non-zero with a one-line typed error', async () => {
    const { dir, out } = scratch('cli-trunc');
    writeFileSync(join(dir, 'cut.bin'), ckptBytes.subarray(0, 4096));
    const r = await cli('convert', join(dir, 'cut.bin'), out, '--tokenizer', TOK);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: CheckpointFormatError: .*cut\.bin: truncated/m);
    expect(readdirSync(dir)).toEqual(['cut.bin']);
  });

  it('convert of an unsupported architecture exits non-zero naming config.json', async () => {
    const { dir, out } = scratch('cli-arch');
    await hfDir(dir);
    const r = await cli('convert', join(dir, 'hf'), out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UnsupportedArchitectureError: .*config\.json: unsupported architecture FalconForCausalLM/);
    expect(readdirSync(dir)).toEqual(['hf']);
  });

  async function hfDir(dir: string): Promise<void> {
    await writeHfCheckpoint(join(dir, 'hf'), CKPT, TOK, { dtype: 'F16', architecture: 'FalconForCausalLM' });
  }
});
