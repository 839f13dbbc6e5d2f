// The ONNX toolkit on a ~100 MB model (24 linear layers of 1024x1024 fp32): build, serialize, decode,
// write/read inline and with external data, and ORT session creation from each file.
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeModel, encodeModel, GraphBuilder } from '../models/onnx/index.ts';
import { readModel, writeModel } from '../models/onnx/io.ts';
import { ort } from '../models/session/ort.ts';
import { tempDir } from '../test/helpers/temp.ts';

const LAYERS = 24;
const WIDTH = 1024;
const dir = tempDir('onnx-toolkit-bench');

async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  console.log(`${label.padEnd(34)} ${(performance.now() - t).toFixed(0).padStart(6)} ms`);
  return out;
}

try {
  const weights = Array.from({ length: LAYERS }, (_, l) => Float32Array.from({ length: WIDTH * WIDTH }, (_, i) => (((i + l) * 2654435761) % 1000) / 1e6));
  const model = await timed('build (graph builder)', () => {
    const b = new GraphBuilder();
    let x = b.input('x', 'float32', ['batch', WIDTH]);
    for (let l = 0; l < LAYERS; l++) {
      x = b.scope(`layers.${l}`, () => b.relu(b.linear(x, b.initializer('weight', weights[l]!, [WIDTH, WIDTH]), b.initializer('bias', new Float32Array(WIDTH)))));
    }
    b.output(x, 'y');
    return b.toModel();
  });
  const bytes = await timed('serialize (toBytes)', () => encodeModel(model));
  console.log(`model size ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB`);
  await timed('decode', () => decodeModel(bytes));
  const inline = path.join(dir, 'inline.onnx');
  const external = path.join(dir, 'external.onnx');
  await timed('writeModel inline', () => writeModel(inline, model));
  await timed('writeModel external data', () => writeModel(external, model, { externalData: {} }));
  console.log(`external: .onnx ${(statSync(external).size / 1024).toFixed(1)} KiB + .data ${(statSync(`${external}.data`).size / 2 ** 20).toFixed(1)} MiB`);
  await timed('readModel inline', () => readModel(inline));
  await timed('readModel external (load)', () => readModel(external, { externalData: 'load' }));
  for (const file of [inline, external]) {
    const session = await timed(`ORT session from ${path.basename(file)}`, () => ort.InferenceSession.create(file));
    await session.release();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
