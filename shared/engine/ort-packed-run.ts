// Packed runs (docs/engines.md, "Packed runs"): a decode step streams every weight of the stage
// from memory whatever its row count, so requests of several sessions waiting at an OrtStage
// together run as one ORT run ('append' graphs only). Which waiting requests share a run, the
// packed mask, and the run itself.
import type { SessionId } from '../ids.ts';
import { ropeTables } from '../graph/rope.ts';
import { StageIo } from '../graph/stage-io.ts';
import type { StageInput, StageOutput } from './engine.ts';
import { EngineRuntimeError } from './errors.ts';
import type { OrtTensorLike } from './ort-like.ts';
import { allocKvRows, appendRows, kvData, kvTensor, outputTensor, rowFloatsOf, stateOf, type OrtStageParts } from './ort-session-cache.ts';

/** Bounds of one packed run: the mask is rows × (cached + rows) floats. */
export const MAX_PACKED_SESSIONS = 16;
export const MAX_PACKED_ROWS = 512;
/** What the causal mask puts where a row must not look (rope.ts `causalMask`). */
const MASKED = -1e9;

export interface StageRequest {
  readonly session: SessionId;
  readonly input: StageInput;
}

export const inputRows = (input: StageInput): number => (input.kind === 'tokens' ? input.ids.length : input.seqLen);

/**
 * Takes out of `pending` the requests that may share a run: one per session, in arrival order
 * within a session; several only when `packable`, within the bounds above.
 */
export function takeBatch<T extends StageRequest>(pending: T[], packable: boolean): T[] {
  const batch: T[] = [];
  const passed = new Set<SessionId>();
  let rows = 0;
  for (let i = 0; i < pending.length && batch.length < MAX_PACKED_SESSIONS;) {
    const p = pending[i] as T;
    const n = inputRows(p.input);
    if (!passed.has(p.session) && (batch.length === 0 || (packable && rows + n <= MAX_PACKED_ROWS))) {
      pending.splice(i, 1);
      batch.push(p);
      rows += n;
    } else {
      i++;
    }
    passed.add(p.session); // a later request of this session must not overtake this one
  }
  return batch;
}

/** One session's share of a packed run: its cached rows (`past`) and new rows (`rows`). */
export interface PackedPart {
  readonly past: number;
  readonly rows: number;
}

/**
 * Where each part's cached rows and new rows sit in the packed run. `cached` is at least 1: an
 * 'append' graph must not be fed an empty past (attention-block.ts `attention`), so a run of new
 * sessions only gets one zero row that every row's mask hides.
 */
export interface PackedLayout {
  readonly cached: number;
  readonly rows: number;
  readonly pastAt: readonly number[];
  readonly rowAt: readonly number[];
}

export function packedLayout(parts: readonly PackedPart[]): PackedLayout {
  const pastAt: number[] = [];
  const rowAt: number[] = [];
  let cached = 0;
  let rows = 0;
  for (const x of parts) {
    pastAt.push(cached);
    rowAt.push(rows);
    cached += x.past;
    rows += x.rows;
  }
  return { cached: Math.max(cached, 1), rows, pastAt, rowAt };
}

/**
 * The mask [rows, cached + rows] of a packed run: every row sees its own session's cached rows
 * and its own session's new rows up to itself, nothing else. For one part it is `causalMask`.
 */
export function packedMask(parts: readonly PackedPart[], layout: PackedLayout = packedLayout(parts)): Float32Array {
  const total = layout.cached + layout.rows;
  const mask = new Float32Array(layout.rows * total).fill(MASKED);
  parts.forEach((x, i) => {
    const pastAt = layout.pastAt[i] as number;
    const rowAt = layout.rowAt[i] as number;
    for (let k = 0; k < x.rows; k++) {
      const row = (rowAt + k) * total;
      mask.fill(0, row + pastAt, row + pastAt + x.past);
      mask.fill(0, row + layout.cached + rowAt, row + layout.cached + rowAt + k + 1);
    }
  });
  return mask;
}

/**
 * Several sessions in one ORT run ('append' graphs only): their new rows side by side, their
 * cached rows side by side before them, and a mask that lets each row see only its own
 * session's cache and its own earlier new rows, so every session gets what a run of its own
 * would give. RoPE tables are per row, so each row keeps its own position. Inputs are checked
 * by the caller.
 */
export async function runPacked(stage: OrtStageParts, batch: readonly StageRequest[]): Promise<StageOutput[]> {
  const { graph, createTensor } = stage;
  const a = stage.manifest.architecture;
  const rowFloats = rowFloatsOf(stage.manifest);
  const parts = batch.map((p) => {
    const state = stateOf(stage, p.session);
    return { p, state, past: state.length, rows: inputRows(p.input) };
  });
  const layout = packedLayout(parts);
  const { cached, rows } = layout;
  const rowAt = (i: number): number => layout.rowAt[i] as number;

  let main: OrtTensorLike;
  if (graph.input === StageIo.inputIds) {
    const ids = new Int32Array(rows);
    parts.forEach((x, i) => ids.set((x.p.input as Extract<StageInput, { kind: 'tokens' }>).ids, rowAt(i)));
    main = createTensor('int32', ids, [rows]);
  } else {
    const hidden = new Float32Array(rows * a.hiddenSize);
    parts.forEach((x, i) => hidden.set((x.p.input as Extract<StageInput, { kind: 'hidden' }>).data, rowAt(i) * a.hiddenSize));
    main = createTensor('float32', hidden, [rows, a.hiddenSize]);
  }
  const cos = new Float32Array(rows * a.headDim);
  const sin = new Float32Array(rows * a.headDim);
  parts.forEach((x, i) => {
    const t = ropeTables(graph.invFreq, x.past, x.rows);
    cos.set(t.cos, rowAt(i) * a.headDim);
    sin.set(t.sin, rowAt(i) * a.headDim);
  });
  const feeds: Record<string, OrtTensorLike> = {
    [graph.input]: main,
    [StageIo.ropeCos]: createTensor('float32', cos, [rows, a.headDim]),
    [StageIo.ropeSin]: createTensor('float32', sin, [rows, a.headDim]),
    [StageIo.attnMask]: createTensor('float32', packedMask(parts, layout), [rows, cached + rows]),
  };
  if (graph.output === StageIo.logits) {
    feeds[StageIo.logitRows] = createTensor(
      'int32',
      Int32Array.from(parts, (x, i) => rowAt(i) + x.rows - 1),
      [parts.length],
    );
  }
  for (const layer of graph.layers) {
    for (const name of [StageIo.pastKey(layer), StageIo.pastValue(layer)]) {
      const packed = allocKvRows(graph, cached * rowFloats);
      parts.forEach((x, i) => {
        const own = x.state.rows.get(name);
        if (own !== undefined && x.past > 0) packed.set(own.subarray(0, x.past * rowFloats), (layout.pastAt[i] as number) * rowFloats);
      });
      feeds[name] = kvTensor(stage, packed, [cached, a.numKvHeads, a.headDim]);
    }
  }

  let out: Record<string, OrtTensorLike>;
  try {
    out = await stage.session.run(feeds);
  } catch (err) {
    const who = parts.map((x) => x.p.session).join(', ');
    throw new EngineRuntimeError(stage.label, `packed run of sessions ${who} (${rows} positions) failed`, { cause: err });
  }
  for (const layer of graph.layers) {
    const keys = kvData(stage, outputTensor(stage, out, StageIo.newKey(layer)));
    const values = kvData(stage, outputTensor(stage, out, StageIo.newValue(layer)));
    parts.forEach((x, i) => {
      const at = rowAt(i) * rowFloats;
      const end = at + x.rows * rowFloats;
      appendRows(stage, x.state, StageIo.pastKey(layer), keys.subarray(at, end), x.rows);
      appendRows(stage, x.state, StageIo.pastValue(layer), values.subarray(at, end), x.rows);
    });
  }
  const data = outputTensor(stage, out, graph.output).data as Float32Array;
  const lse = graph.output === StageIo.logits ? (outputTensor(stage, out, StageIo.logSumExp).data as Float32Array) : undefined;
  return parts.map((x, i) => {
    x.state.length += x.rows;
    stage.sessions.set(x.p.session, x.state);
    if (lse !== undefined) return { kind: 'logits', data: data.slice(i * a.vocabSize, (i + 1) * a.vocabSize), logSumExp: lse[i] as number };
    return { kind: 'hidden', data: data.slice(rowAt(i) * a.hiddenSize, (rowAt(i) + x.rows) * a.hiddenSize), seqLen: x.rows };
  });
}
