import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, attr } from '../../../shared/onnx/graph-builder.ts';
import { OnnxDataType, encodeOnnxModel } from '../../../shared/onnx/onnx-model.ts';
import { ProtoWriter } from '../../../shared/onnx/protobuf-writer.ts';

const opts: ort.InferenceSession.SessionOptions = { extra: { session: { intra_op: { allow_spinning: '0' } } } };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('ProtoWriter', () => {
  it('encodes varints, negative int64, floats and length-delimited fields as protobuf does', () => {
    expect([...new ProtoWriter().int(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().int(2, -1).finish()]).toEqual([0x10, ...Array(9).fill(0xff), 0x01]);
    expect([...new ProtoWriter().float(3, 1).finish()]).toEqual([0x1d, 0, 0, 0x80, 0x3f]);
    expect([...new ProtoWriter().string(4, 'ab').finish()]).toEqual([0x22, 2, 0x61, 0x62]);
    expect([...new ProtoWriter().packedInts(1, [1, 300]).finish()]).toEqual([0x0a, 3, 1, 0xac, 0x02]);
  });
});

describe('encodeOnnxModel through onnxruntime-node', () => {
  it('runs a graph with inline and external initializers, attributes and dynamic dims', async () => {
    // y = Gemm(x, W, b, transB=1) then the last row (Slice with negative start), then * 2.
    const w = new Float32Array([1, 2, 3, 4, 5, 6]); // [out=2, in=3]
    const dir = mkdtempSync(join(tmpdir(), 'onnx-writer-'));
    dirs.push(dir);
    const weightFile = new Uint8Array(64 + w.byteLength);
    weightFile.set(new Uint8Array(w.buffer), 64); // at a non-zero offset, as in a unit file
    writeFileSync(join(dir, 'weights.bin'), weightFile);

    const g = new GraphBuilder('tiny');
    const x = g.input('x', OnnxDataType.FLOAT, ['seq', 3]);
    const weight = g.initializer({
      name: 'W',
      dataType: OnnxDataType.FLOAT,
      dims: [2, 3],
      data: { kind: 'external', location: 'weights.bin', offset: 64, length: w.byteLength },
    });
    const bias = g.float32([10, 20], [2]);
    const y = g.op('Gemm', [x, weight, bias], { transB: attr.int(1) });
    const last = g.op('Slice', [y, g.int64([-1]), g.int64([Number.MAX_SAFE_INTEGER]), g.int64([0])]);
    const out = g.op('Mul', [last, g.float32([2])]);
    g.output('y', out, OnnxDataType.FLOAT, [1, 2]);
    const bytes = encodeOnnxModel(g.build([{ domain: '', version: 21 }]));
    writeFileSync(join(dir, 'model.onnx'), bytes);

    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), opts);
    const feed = new ort.Tensor('float32', new Float32Array([1, 0, 0, 1, 1, 1]), [2, 3]);
    const result = await session.run({ x: feed });
    // last row [1,1,1]: W·x = [6, 15]; + b = [16, 35]; * 2
    expect([...(result['y']?.data as Float32Array)]).toEqual([32, 70]);
    await session.release();
  });

  it('runs fp16 initializers through Cast and a com.microsoft contrib op', async () => {
    const g = new GraphBuilder('contrib');
    const x = g.input('x', OnnxDataType.FLOAT, [1, 4]);
    const half = new Uint16Array([0x3c00, 0x4000, 0x3c00, 0x4000]); // fp16 1, 2, 1, 2
    const scale = g.initializer({ name: 's', dataType: OnnxDataType.FLOAT16, dims: [4], data: { kind: 'raw', bytes: new Uint8Array(half.buffer) } });
    const scale32 = g.op('Cast', [scale], { to: attr.int(OnnxDataType.FLOAT) });
    // (x + skip) RMS-normalised, times the fp16 scale: a com.microsoft op.
    const skip = g.float32([1, 1, 1, 1], [1, 4]);
    const y = g.op('SkipSimplifiedLayerNormalization', [x, skip, scale32], { epsilon: attr.float(0) }, { domain: 'com.microsoft' });
    g.output('y', y, OnnxDataType.FLOAT, [1, 4]);
    const bytes = encodeOnnxModel(
      g.build([
        { domain: '', version: 21 },
        { domain: 'com.microsoft', version: 1 },
      ]),
    );
    const session = await ort.InferenceSession.create(bytes, opts);
    const result = await session.run({ x: new ort.Tensor('float32', new Float32Array([2, 2, 2, 2]), [1, 4]) });
    expect([...(result['y']?.data as Float32Array)]).toEqual([1, 2, 1, 2]);
    await session.release();
  });
});
