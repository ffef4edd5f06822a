import { OnnxDataType, type AttributeValue, type OnnxDim, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-model.ts';

/** Attribute constructors, so call sites read `{ axis: attr.int(1) }`. */
export const attr = {
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
};

export interface OpOptions {
  readonly domain?: string;
  /** Names for the outputs (default: generated). A number asks for that many generated names. */
  readonly outputs?: readonly string[] | number;
}

/**
 * Accumulates nodes, initializers and graph inputs/outputs with unique value names, then yields
 * an `OnnxModel`. Small constants (shapes, axes) are shared initializers, deduplicated by value.
 */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(private readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, elemType: OnnxDataType, shape: readonly OnnxDim[]): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  /** Declares graph output `name` carrying `value` (adds an Identity when the names differ). */
  output(name: string, value: string, elemType: OnnxDataType, shape: readonly OnnxDim[]): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name: this.fresh('Identity') });
    this.outputs.push({ name, elemType, shape });
  }

  initializer(tensor: OnnxTensor): string {
    this.initializers.push(tensor);
    return tensor.name;
  }

  /** An int64 constant (1-D unless `dims` says otherwise, [] for a scalar). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const name = this.fresh('const_i64');
    this.initializers.push({ name, dataType: OnnxDataType.INT64, dims, data: { kind: 'int64', values } });
    this.constants.set(key, name);
    return name;
  }

  /** A float32 constant (scalar unless `dims` says otherwise). */
  float32(values: readonly number[], dims: readonly number[] = []): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const name = this.fresh('const_f32');
    const bytes = new Uint8Array(new Float32Array(values).buffer);
    this.initializers.push({ name, dataType: OnnxDataType.FLOAT, dims, data: { kind: 'raw', bytes } });
    this.constants.set(key, name);
    return name;
  }

  /** Adds one node; returns its output names. */
  opMulti(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, options: OpOptions = {}): string[] {
    const name = this.fresh(opType);
    const spec = options.outputs ?? 1;
    const outputs = typeof spec === 'number' ? Array.from({ length: spec }, (_, i) => `${name}_out${i}`) : [...spec];
    this.nodes.push({ opType, inputs, outputs, name, attributes, ...(options.domain ? { domain: options.domain } : {}) });
    return outputs;
  }

  /** Adds one node with a single output; returns the output name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, options: OpOptions = {}): string {
    return this.opMulti(opType, inputs, attributes, options)[0] as string;
  }

  build(opsets: OnnxModel['opsets']): OnnxModel {
    return {
      opsets,
      graph: { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    };
  }
}
