// The few globals that exist both in Node 20 and in browsers (and workers), declared for
// shared/tsconfig.json, which has neither Node's types nor the DOM: code in shared/ may use these
// and nothing else from the platform. Platform-specific needs are injected through interfaces.
declare global {
  interface SubtleCryptoLike {
    digest(algorithm: 'SHA-256' | 'SHA-1', data: ArrayBufferView | ArrayBuffer): Promise<ArrayBuffer>;
    importKey(format: 'raw', keyData: ArrayBufferView | ArrayBuffer, algorithm: { name: 'HMAC'; hash: 'SHA-256' }, extractable: boolean, usages: ('sign' | 'verify')[]): Promise<unknown>;
    sign(algorithm: 'HMAC', key: unknown, data: ArrayBufferView | ArrayBuffer): Promise<ArrayBuffer>;
  }
  const crypto: { readonly subtle: SubtleCryptoLike; getRandomValues<T extends ArrayBufferView>(array: T): T; randomUUID(): string };
  class TextEncoder { encode(input?: string): Uint8Array; }
  class TextDecoder { constructor(label?: string, options?: { fatal?: boolean }); decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string; }
  function setTimeout(handler: () => void, ms?: number): unknown;
  function clearTimeout(id: unknown): void;
  function queueMicrotask(cb: () => void): void;
  const console: { log(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void; debug(...a: unknown[]): void };
  const performance: { now(): number };
  class AbortController { readonly signal: AbortSignal; abort(reason?: unknown): void; }
  function atob(data: string): string;
  // The part of the WebAssembly API the kernel engine uses (shared/engine/kernel/).
  namespace WebAssembly {
    class Memory {
      constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports: Record<string, Record<string, unknown>>);
      readonly exports: Record<string, unknown>;
    }
    function validate(bytes: Uint8Array): boolean;
  }
  interface AbortSignal { readonly aborted: boolean; readonly reason: unknown; addEventListener(type: 'abort', cb: () => void, opts?: { once?: boolean }): void; removeEventListener(type: 'abort', cb: () => void): void; throwIfAborted(): void; }
}
export {};
