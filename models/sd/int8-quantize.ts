// The int8 UNet's quantiser as one ORT graph (dynamic shapes: one session serves every layer), run
// on row chunks in a session thread: 250M weights took about 3 s in per-element JavaScript.
import { GraphBuilder } from '../onnx/index.ts';
import { ort, type OrtSession } from '../session/ort.ts';
import { createSession } from '../session/providers.ts';

export const BLOCK = 128;
export const ZERO_POINT = 128;

/** Blocks of BLOCK values in a row of `k` (the last one padded). */
export function blocksOf(k: number): number {
  return Math.ceil(k / BLOCK);
}
// Elements per run (its float32 intermediates 4 MiB): [10240, 1280] fp16 took 2.3 ns a weight in runs
// of 1M, 2.6 in runs of 256K, 7.4 in runs of 64K (2 threads, loaded machine).
const CHUNK_ELEMENTS = 1 << 20;

/** Weight types fed to the graph as they are (cast to float32 in it). */
type QuantizerInput = 'float32' | 'float16';

/**
 * w [n, k] -> q [n, blocks, BLOCK] uint8, scales [n, blocks] float32: K padded with zeros to whole
 * blocks, scale = max|w| / 127 per block, q = round(w / scale) + 128, rounding half to even (ONNX
 * Round), all in float32; a block of zeros has scale 0 and q 128.
 */
function quantizerGraph(dtype: QuantizerInput): Uint8Array {
  const b = new GraphBuilder({ graphName: `int8-quantize-${dtype}` });
  const w = b.input('w', dtype, ['n', 'k']);
  const x = dtype === 'float32' ? w : b.cast(w, 'float32');
  // (-k) mod BLOCK zeros at the end of each row: ONNX Mod on integers takes the divisor's sign.
  const padK = b.op('Mod', [b.neg(b.shape(x, 1, 2)), b.ints([BLOCK])]);
  const blocks = b.reshape(b.pad(x, b.concat([b.ints([0, 0, 0]), padK], 0)), [0, -1, BLOCK]);
  const scale = b.div(b.reduceMax(b.abs(blocks), [2]), 127);
  const divisor = b.where(b.op('Equal', [scale, b.constant(0)], {}, { dtype: 'bool' }), 1, scale);
  const q = b.clip(b.add(b.op('Round', [b.div(blocks, divisor)]), ZERO_POINT), 0, 255);
  b.output(b.cast(q, 'uint8'), 'q', 'uint8');
  b.output(b.reshape(scale, [0, -1]), 'scales', 'float32');
  return b.toBytes();
}

/** Rows per run for a row length of `k`. */
export function chunkRows(k: number): number {
  return Math.max(1, Math.floor(CHUNK_ELEMENTS / k));
}

/** Row chunks' inputs and outputs: views of buffers lent to the quantiser's thread for each run. */
export interface QuantizerBuffers {
  /** [rows, k]: float32, or float16 bits. */
  w: Float32Array | Uint16Array;
  /** [rows, blocks, BLOCK] */
  q: Uint8Array;
  /** [rows, blocks] */
  scales: Float32Array;
}

/** The quantiser's sessions, one per weight type, each created on first use, all ended by `release`. */
export class Quantizer {
  private readonly sessions = new Map<QuantizerInput, Promise<OrtSession>>();

  /**
   * The session for `dtype`, started now if it is not: its thread and ORT take about 0.6 s to start
   * (loaded 2-core machine), which can overlap other work.
   */
  prepare(dtype: QuantizerInput): Promise<OrtSession> {
    let s = this.sessions.get(dtype);
    if (!s) {
      // Threads sleep between runs instead of spinning: reading the next rows needs the cores too.
      s = createSession(quantizerGraph(dtype), { executionProviders: ['cpu'], extra: { session: { intra_op: { allow_spinning: '0' } } } });
      this.sessions.set(dtype, s);
    }
    return s;
  }

  /**
   * Quantises `rows` rows of length `k` from `b.w` into `b.q` and `b.scales`. The three buffers are
   * lent to the session's thread (detached here meanwhile) and come back as the returned views, so the
   * same memory serves every run: fresh buffers per run cost more than the quantising.
   */
  async run(b: QuantizerBuffers, rows: number, k: number): Promise<QuantizerBuffers> {
    const blocks = blocksOf(k);
    const dtype = b.w instanceof Float32Array ? 'float32' : 'float16';
    if (b.w.length !== rows * k || b.q.length !== rows * blocks * BLOCK || b.scales.length !== rows * blocks) throw new Error(`quantizer: buffers do not fit ${rows}x${k}`);
    const { feeds, outputs } = await (await this.prepare(dtype)).runLent(
      { w: new ort.Tensor(dtype, b.w, [rows, k]) },
      { q: new ort.Tensor('uint8', b.q, [rows, blocks, BLOCK]), scales: new ort.Tensor('float32', b.scales, [rows, blocks]) },
    );
    return { w: feeds.w!.data as Float32Array | Uint16Array, q: outputs.q!.data as Uint8Array, scales: outputs.scales!.data as Float32Array };
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of await Promise.allSettled(all)) if (s.status === 'fulfilled') await s.value.release();
  }
}
