// The peer wire protocol (docs/wire-protocol.md): frame types, the codec, chunking and reassembly, typed errors.
export * from './frame-types.ts';
export * from './errors.ts';
export { encodeFrame, decodeFrame, DEFAULT_MAX_FRAME_BYTES } from './frame-codec.ts';
export { splitFrame, frameChunks, messageLane, FrameAssembler, MAX_MESSAGE_BYTES, type Lane } from './chunking.ts';
export { HEADER_BYTES, WIRE_VERSION } from './header.ts';
