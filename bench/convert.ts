// `npm run bench -- convert [--dtypes q4,q8] [--layers 16] [--keep]`: writes a ~3 GB bf16 Hugging
// Face checkpoint with Llama-3.2-1B shapes (vocab 128256, hidden 2048, 32/8 heads, intermediate
// 8192, untied head) into a temp dir, converts it with `node-peer convert` in a child process per
// dtype and prints each child's peak RSS and wall time. The temp dir is removed afterwards.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runConvertChild } from '../test/util/convert-child.ts';
import { writeSyntheticHfCheckpoint, type SyntheticShape } from '../test/util/hf-checkpoint-synthetic.ts';
import { printTable, writeResults, type Row } from './_report.ts';

const { values } = parseArgs({
  options: { dtypes: { type: 'string', default: 'q4,q8' }, layers: { type: 'string', default: '16' }, keep: { type: 'boolean', default: false } },
});
const shape: SyntheticShape = { vocab: 128256, hidden: 2048, layers: Number(values.layers), heads: 32, kvHeads: 8, intermediate: 8192, seed: 1 };
const dir = mkdtempSync(join(tmpdir(), 'ringmesh-bench-convert-'));
const rows: Row[] = [];
try {
  const t0 = Date.now();
  const bytes = await writeSyntheticHfCheckpoint(join(dir, 'hf'), shape);
  console.log(`checkpoint: ${(bytes / 2 ** 30).toFixed(2)} GiB bf16, written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const dtype of (values.dtypes ?? '').split(',')) {
    const out = join(dir, `out-${dtype}`);
    const r = await runConvertChild([join(dir, 'hf'), out, '--dtype', dtype], 3_600_000);
    if (r.code !== 0) throw new Error(`convert --dtype ${dtype} failed: ${r.stderr}`);
    const outBytes = ['embed.bin', 'head.bin', ...Array.from({ length: shape.layers }, (_, i) => `layer-${String(i).padStart(3, '0')}.bin`)].reduce(
      (n, f) => n + statSync(join(out, f)).size,
      0,
    );
    rows.push({
      dtype,
      'checkpoint GiB': bytes / 2 ** 30,
      'package GiB': outBytes / 2 ** 30,
      'peak RSS MiB': Math.round(r.maxRssBytes / 2 ** 20),
      'wall s': r.wallMs / 1000,
      'MB/s in': bytes / 1e6 / (r.wallMs / 1000),
    });
    if (values.keep !== true) rmSync(out, { recursive: true, force: true });
  }
} finally {
  if (values.keep !== true) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
printTable(`node-peer convert, ${shape.layers} layers × hidden ${shape.hidden}, vocab ${shape.vocab} (one child per dtype)`, rows);
writeResults('convert', { shape, rows });
