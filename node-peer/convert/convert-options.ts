import type { WeightDType } from '../../shared/model/manifest.ts';

export interface ConvertOptions {
  /** Storage dtype of the package (default fp32). */
  readonly dtype?: WeightDType;
  /** Piece size in bytes (default DEFAULT_PIECE_SIZE). */
  readonly pieceSize?: number;
  /** Human-readable model name in the manifest (default: the source's base name). */
  readonly name?: string;
  /** fp32 values read and encoded at a time (default SLAB_FLOATS); tests force many small slabs. */
  readonly slabFloats?: number;
}
