import { RingmeshError } from '../errors.ts';

/**
 * Base of every error the wire codec throws. Decoding untrusted bytes only ever throws a subclass of
 * this (the fuzz test pins that), so a peer session can catch `WireError` at its edge, drop the
 * offending peer and keep running.
 */
export class WireError extends RingmeshError {}

/** The bytes end before the header or a field is complete. */
export class FrameTruncatedError extends WireError {}

/** The first two bytes are not the ringmesh magic `RM`: not a ringmesh frame at all. */
export class BadMagicError extends WireError {}

/** The header names a wire version this build does not speak. */
export class UnsupportedVersionError extends WireError {}

/** The header's type byte is not one of the frame types in `FRAME_TYPES`. */
export class UnknownFrameTypeError extends WireError {}

/** A field holds a value outside its range/enum, or lengths disagree (shape × dtype ≠ bytes, trailing bytes…). */
export class InvalidFrameError extends WireError {}

/** A frame (or the reassembly buffer) would exceed the configured byte limit. */
export class FrameTooLargeError extends WireError {}

/** A chunk arrived that does not continue the frame being reassembled on its lane. */
export class ChunkSequenceError extends WireError {}
