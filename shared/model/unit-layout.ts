import { TENSOR_ALIGNMENT, type TensorEntry, type UnitName, type WeightDType } from './manifest.ts';
import { tensorStorageBytes } from './tensor-dtypes.ts';
import { ModelShapeError } from './errors.ts';

/** What a unit will hold: tensor names, dtypes and shapes, in file order. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
}

export interface UnitLayout {
  readonly unit: UnitName;
  readonly tensors: readonly TensorEntry[];
  /** File length: the end of the last tensor (no trailing padding). */
  readonly bytes: number;
}

function alignUp(n: number, alignment = TENSOR_ALIGNMENT): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Places tensors back to back, each at the next TENSOR_ALIGNMENT boundary (zero padding between). */
export function planUnitLayout(unit: UnitName, specs: readonly TensorSpec[]): UnitLayout {
  let offset = 0;
  const tensors: TensorEntry[] = [];
  let end = 0;
  for (const s of specs) {
    offset = alignUp(end);
    const bytes = tensorStorageBytes(s.dtype, s.shape);
    if (bytes === null) throw new ModelShapeError(`tensor ${s.name}: ${s.dtype} needs a 2-D shape, got [${s.shape.join(', ')}]`);
    tensors.push({ name: s.name, unit, dtype: s.dtype, shape: [...s.shape], offset, bytes });
    end = offset + bytes;
  }
  return { unit, tensors, bytes: end };
}
