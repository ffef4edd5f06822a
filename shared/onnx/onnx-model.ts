import { ProtoWriter } from './protobuf-writer.ts';

/**
 * The subset of ONNX (onnx.proto, IR version 10) ringmesh writes, as plain values, and its
 * encoder. Field numbers are those of onnx.proto; only what the stage graphs use is modelled.
 */

/** TensorProto.DataType values. */
export const OnnxDataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: OnnxTensor };

export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  /** '' for the default ai.onnx domain, 'com.microsoft' for contrib ops. */
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** Where an initializer's bytes live: inline, or a byte range of an external file. */
export type TensorData =
  | { readonly kind: 'raw'; readonly bytes: Uint8Array }
  | { readonly kind: 'int64'; readonly values: readonly number[] }
  | { readonly kind: 'external'; readonly location: string; readonly offset: number; readonly length: number };

export interface OnnxTensor {
  readonly name: string;
  readonly dataType: OnnxDataType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A dimension is a fixed size or a symbolic name (dynamic). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: OnnxDataType;
  readonly shape: readonly OnnxDim[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  readonly graph: OnnxGraph;
  /** Operator sets by domain ('' = ai.onnx). */
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly irVersion?: number;
  readonly producer?: string;
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function encodeTensor(t: OnnxTensor): Uint8Array {
  const w = new ProtoWriter().packedInts(1, t.dims).int(2, t.dataType).string(8, t.name);
  switch (t.data.kind) {
    case 'raw':
      w.bytes(9, t.data.bytes);
      break;
    case 'int64':
      w.packedInts(7, t.data.values);
      break;
    case 'external': {
      const entry = (key: string, value: string): Uint8Array => new ProtoWriter().string(1, key).string(2, value).finish();
      w.message(13, entry('location', t.data.location))
        .message(13, entry('offset', String(t.data.offset)))
        .message(13, entry('length', String(t.data.length)))
        .int(14, 1); // data_location = EXTERNAL
      break;
    }
  }
  return w.finish();
}

function encodeAttribute(name: string, a: AttributeValue): Uint8Array {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, encodeTensor(a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  return w.int(20, ATTRIBUTE_TYPE[a.kind]).finish();
}

function encodeNode(n: OnnxNode): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {})) w.message(5, encodeAttribute(name, value));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

function encodeValueInfo(v: OnnxValueInfo): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d);
    shape.message(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).message(2, shape.finish()).finish();
  const type = new ProtoWriter().message(1, tensorType).finish();
  return new ProtoWriter().string(1, v.name).message(2, type).finish();
}

function encodeGraph(g: OnnxGraph): Uint8Array {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  return w.finish();
}

/** Serializes a model to ONNX protobuf bytes (what `InferenceSession.create` accepts). */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter().int(1, model.irVersion ?? 10).string(2, model.producer ?? 'ringmesh');
  w.message(7, encodeGraph(model.graph));
  for (const o of model.opsets) w.message(8, new ProtoWriter().string(1, o.domain).int(2, o.version).finish());
  return w.finish();
}
