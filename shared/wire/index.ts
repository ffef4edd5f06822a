// The peer wire protocol (docs/wire-protocol.md): frame types, the codec, chunking and reassembly, typed errors.
export * from './frame-types.ts';
export * from './errors.ts';
export { encodeFrame, decodeFrame } from './frame-codec.ts';
export { splitFrame, messageLane, FrameAssembler, MAX_MESSAGE_BYTES } from './chunking.ts';
