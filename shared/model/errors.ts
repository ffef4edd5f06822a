import { RingmeshError } from '../errors.ts';

/** manifest.json (or a value meant for it) breaks the schema; `field` is the dotted path. */
export class ManifestInvalidError extends RingmeshError {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: invalid manifest field "${field}": ${detail}`, options);
  }
}

/** A piece's bytes do not hash to the manifest's entry: never store or relay it. */
export class PieceHashMismatchError extends RingmeshError {
  constructor(
    readonly unit: string,
    readonly piece: number,
    readonly expected: string,
    readonly actual: string,
    readonly file?: string,
  ) {
    super(`piece ${piece} of ${unit}${file === undefined ? '' : ` (${file})`}: sha256 mismatch, expected ${expected}, got ${actual}`);
  }
}

/** A piece has the wrong length for its position in the unit. */
export class PieceLengthError extends RingmeshError {
  constructor(
    readonly unit: string,
    readonly piece: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`piece ${piece} of ${unit}: expected ${expected} bytes, got ${actual}`);
  }
}

/** A unit name (or a piece index of it) that the manifest does not list. */
export class UnitNotFoundError extends RingmeshError {
  constructor(
    readonly unit: string,
    detail = 'not in the manifest',
  ) {
    super(`unit ${unit}: ${detail}`);
  }
}

/** A tensor name that the manifest does not list, or one asked of a unit that does not hold it. */
export class TensorNotFoundError extends RingmeshError {
  constructor(
    readonly tensor: string,
    detail = 'not in the manifest',
  ) {
    super(`tensor ${tensor}: ${detail}`);
  }
}

/** A tensor whose dtype and shape do not go together (a quantized tensor must be a matrix). */
export class ModelShapeError extends RingmeshError {
  constructor(detail: string) {
    super(detail);
  }
}
