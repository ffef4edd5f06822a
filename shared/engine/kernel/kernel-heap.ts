import { fromHalfBits } from '../../util/half-float.ts';
import { QUANT_BLOCK, quantLayout, type QuantDType } from '../../model/quant-blocks.ts';
import { KernelMemoryError } from './errors.ts';
import { KERNELS_WASM, KERNELS_WASM_SHARED } from './kernels-wasm.ts';
import { CONTROL_BYTES, KernelThreads, type KernelThreadSpawner } from './kernel-threads.ts';

const PAGE = 65536;
/** wasm32 addresses 4 GiB; the last page stays unused so that no end pointer wraps to 0. */
const MAX_PAGES = 65535;
const ALIGN = 64;

/** A q8/q4 matrix [rows, cols] held in the kernel heap: int8 (q8) or packed nibbles (q4), f32 scales. */
export interface HeapMatrix {
  readonly dtype: QuantDType;
  readonly rows: number;
  readonly cols: number;
  readonly blocks: number;
  /** Addresses of the codes and of the scales [rows, blocks]. */
  readonly codes: number;
  readonly scales: number;
}

type Kernel = (w: number, sw: number, xq: number, xs: number, out: number, rows: number, blocks: number) => void;
type AttentionKernel = (a: number, rows: number, stride: number, dim: number, n: number, out: number) => void;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module } = {};

export interface KernelHeapOptions {
  /** Threads for the matrix-vector products (this one included); more than 1 needs `spawner`. */
  readonly threads?: number;
  readonly spawner?: KernelThreadSpawner;
}

/** Products with fewer rows per thread than this run on the engine's thread alone. */
const MIN_ROWS_PER_THREAD = 64;

/** A shared memory, or undefined where this context may not have one (a page not cross-origin isolated). */
function sharedMemory(): WebAssembly.Memory | undefined {
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return undefined;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  } catch {
    return undefined; // no SharedArrayBuffer here: one thread
  }
}

/**
 * One WebAssembly memory holding a stage's quantized matrices, and the matrix-vector kernels of
 * kernels.wat over them. The input vector is set once (setInput: quantized to int8 per block of 32,
 * in the layout each dtype's kernel reads) and then multiplied by any number of matrices, as q, k
 * and v, or gate and up, share theirs. A stage's runs are serialised; with `threads` each product
 * is shared out by rows among helper threads over a shared memory (kernel-threads.ts).
 */
export class KernelHeap {
  private readonly memory: WebAssembly.Memory;
  private readonly threads: KernelThreads | undefined;
  private readonly q8: Kernel;
  private readonly q4: Kernel;
  private readonly qk: AttentionKernel;
  private readonly pv: AttentionKernel;
  private top = ALIGN;
  private readonly quantizeInput: (x: number, blocks: number, xq8: number, xq4: number, xs: number) => void;
  private scratch: { cols: number; rows: number; x: number; xq8: number; xq4: number; xs: number; out: number } | undefined;
  private inputCols = 0;
  private chunkBytes = 0;
  /** KV chunks given back by freed sessions, reused before the heap grows (it never shrinks). */
  private readonly freeChunks: number[] = [];

  constructor(options: KernelHeapOptions = {}) {
    const threads = options.threads ?? 1;
    const shared = threads > 1 && options.spawner !== undefined ? sharedMemory() : undefined;
    this.memory = shared ?? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    const module =
      shared === undefined
        ? (compiled.plain ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM)))
        : (compiled.shared ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_SHARED)));
    const { exports } = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.q8 = exports['matvec_q8'] as Kernel;
    this.q4 = exports['matvec_q4'] as Kernel;
    this.qk = exports['qk'] as AttentionKernel;
    this.pv = exports['pv'] as AttentionKernel;
    this.quantizeInput = exports['quantize'] as KernelHeap['quantizeInput'];
    this.threads =
      shared === undefined ? undefined : new KernelThreads(shared, this.alloc(CONTROL_BYTES), module, threads, options.spawner as KernelThreadSpawner);
  }

  /** Threads the products run on (1: this one only). */
  get threadCount(): number {
    return this.threads?.parts ?? 1;
  }

  /** Ends the helper threads, if any; the heap is unusable afterwards. */
  close(): void {
    this.threads?.stop();
  }

  /** Bytes the heap holds (its memory's size). */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  private alloc(bytes: number): number {
    const at = this.top;
    const end = at + Math.ceil(bytes / ALIGN) * ALIGN;
    const pages = Math.ceil(end / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > MAX_PAGES) throw new KernelMemoryError(end);
    if (pages > have) {
      try {
        this.memory.grow(pages - have);
      } catch (err) {
        throw new KernelMemoryError(end, { cause: err });
      }
    }
    this.top = end;
    return at;
  }

  /** A float32 view of `length` values at `address` (valid until the heap next grows). */
  f32(address: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, length);
  }

  /** `floats` float32 values of heap, 64-byte aligned, for the life of the heap. */
  allocFloats(floats: number): number {
    return this.alloc(floats * 4);
  }

  /** Sets the size of KV chunks (chunk() / freeChunk()): once, before the first. */
  setChunkFloats(floats: number): void {
    this.chunkBytes = floats * 4;
  }

  /** One KV chunk: a freed one when there is one, else new heap. */
  chunk(): number {
    if (this.chunkBytes === 0) throw new RangeError('setChunkFloats() was not called');
    return this.freeChunks.pop() ?? this.alloc(this.chunkBytes);
  }

  freeChunk(address: number): void {
    this.freeChunks.push(address);
  }

  /** out[t] = q · k[t·stride …], t < n (heap addresses; dim a multiple of 4, stride in floats). */
  dots(q: number, k: number, stride: number, dim: number, n: number, out: number): void {
    if (n > 0) this.qk(q, k, stride, dim, n, out);
  }

  /** out[i] += Σ_t p[t] · v[t·stride + i], i < dim (heap addresses). */
  weightedSum(p: number, v: number, stride: number, dim: number, n: number, out: number): void {
    if (n > 0) this.pv(p, v, stride, dim, n, out);
  }

  /** Room for inputs of up to `cols` values and outputs of up to `rows`; call before any matvec. */
  reserve(cols: number, rows: number): void {
    const blocks = Math.ceil(cols / QUANT_BLOCK);
    this.scratch = {
      cols,
      rows,
      x: this.alloc(blocks * QUANT_BLOCK * 4),
      xq8: this.alloc(blocks * QUANT_BLOCK * 2),
      xq4: this.alloc(blocks * QUANT_BLOCK * 2),
      xs: this.alloc(blocks * 4),
      out: this.alloc(rows * 4),
    };
  }

  /**
   * Copies a q8/q4 tensor's stored bytes (quant-blocks.ts) into the heap: q8 codes turned from
   * offset-128 bytes into int8 (b − 128 = b xor 0x80), q4 nibbles as they are, fp16 scales widened.
   */
  addMatrix(dtype: QuantDType, stored: Uint8Array, rows: number, cols: number): HeapMatrix {
    const layout = quantLayout(dtype, rows, cols);
    const codes = this.alloc(layout.dataBytes);
    const scales = this.alloc(rows * layout.blocksPerRow * 4);
    const heap = new Uint8Array(this.memory.buffer);
    const src = stored.subarray(0, layout.dataBytes);
    if (dtype === 'q8') {
      for (let i = 0; i < src.length; i++) heap[codes + i] = (src[i] as number) ^ 0x80;
    } else {
      heap.set(src, codes);
    }
    const halves = new DataView(stored.buffer, stored.byteOffset + layout.scalesOffset, layout.scalesBytes);
    const f32 = new Float32Array(this.memory.buffer, scales, rows * layout.blocksPerRow);
    for (let i = 0; i < f32.length; i++) f32[i] = fromHalfBits(halves.getUint16(i * 2, true));
    return { dtype, rows, cols, blocks: layout.blocksPerRow, codes, scales };
  }

  /**
   * Quantizes x (cols values) to int8 per block of 32 (scale max|x|/127, round to nearest), as
   * ORT's MatMulNBits does at accuracy level 4: into the q8 layout and the q4 one (a block's even
   * elements, then its odd ones). Padding past cols is zero.
   */
  setInput(x: Float32Array): void {
    const s = this.scratch;
    if (s === undefined || x.length > s.cols) throw new RangeError(`kernel input of ${x.length} values, room for ${s?.cols ?? 0}`);
    const blocks = Math.ceil(x.length / QUANT_BLOCK);
    const padded = this.f32(s.x, blocks * QUANT_BLOCK);
    padded.set(x);
    padded.fill(0, x.length);
    this.quantizeInput(s.x, blocks, s.xq8, s.xq4, s.xs);
    this.inputCols = x.length;
  }

  /** out[0 … m.rows) = m · (the input last set). */
  matvec(m: HeapMatrix, out: Float32Array): void {
    const s = this.scratch;
    if (s === undefined || m.rows > s.rows) throw new RangeError(`kernel output of ${m.rows} rows, room for ${s?.rows ?? 0}`);
    if (m.cols !== this.inputCols) throw new RangeError(`matrix of ${m.cols} columns times an input of ${this.inputCols}`);
    const kernel = m.dtype === 'q8' ? this.q8 : this.q4;
    const xq = m.dtype === 'q8' ? s.xq8 : s.xq4;
    const threads = this.threads;
    if (threads === undefined || m.rows < MIN_ROWS_PER_THREAD * threads.parts) {
      kernel(m.codes, m.scales, xq, s.xs, s.out, m.rows, m.blocks);
    } else {
      const rowBytes = (m.blocks * QUANT_BLOCK) / (m.dtype === 'q8' ? 1 : 2);
      const args = { w: m.codes, sw: m.scales, xq, xs: s.xs, out: s.out, rows: m.rows, blocks: m.blocks, rowBytes };
      threads.run(m.dtype === 'q8' ? 0 : 1, args, (from, to) =>
        kernel(m.codes + from * rowBytes, m.scales + from * m.blocks * 4, xq, s.xs, s.out + from * 4, to - from, m.blocks),
      );
    }
    out.set(new Float32Array(this.memory.buffer, s.out, m.rows));
  }
}
