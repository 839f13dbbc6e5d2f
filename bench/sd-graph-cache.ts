// Loading an SD1.5-size checkpoint: building its four graphs (first load) against reading them from the
// converted cache (every later load), and, for scale, a sha256 of the checkpoint file. The checkpoint
// is a sparse fp16 file with the real v1-5-pruned-emaonly key list (test/fixtures/sd15-keys.json):
// 2.1 GB long, no disk used; loading reads only its header. Sessions are not created here.
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { loadSdModel } from '../models/sd/load-model.ts';
import { tinyClipTokenizerJson } from '../models/sd/tiny-tokenizer.ts';
import { sha256File } from '../models/store/hash.ts';
import { tempDir } from '../test/helpers/temp.ts';

const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../test/fixtures/sd15-keys.json'), 'utf8')) as {
  tensors: Record<string, { shape: number[]; dtype: string }>;
};
const data = tempDir('sd-cache');
const models = path.join(data, 'models');
const dir = path.join(models, 'checkpoints');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyClipTokenizerJson()));

const header: Record<string, unknown> = {};
let end = 0;
for (const [key, t] of Object.entries(fixture.tensors)) {
  const dtype = t.dtype === 'F32' ? 'F16' : t.dtype;
  const bytes = t.shape.reduce((a, d) => a * d, 1) * (dtype === 'F16' ? 2 : 8);
  header[key] = { dtype, shape: t.shape, data_offsets: [end, end + bytes] };
  end += bytes;
}
const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
const file = path.join(dir, 'sd15-f16.safetensors');
const fd = openSync(file, 'w');
const length = Buffer.alloc(8);
length.writeBigUInt64LE(BigInt(json.length));
writeSync(fd, length);
writeSync(fd, json);
ftruncateSync(fd, 8 + json.length + end);
closeSync(fd);

const seconds = (t: number) => `${((performance.now() - t) / 1000).toFixed(3)} s`;
let t = performance.now();
await loadSdModel('sd15-f16.safetensors', models);
console.log(`first load, graphs built and cached: ${seconds(t)}`);
for (let i = 0; i < 3; i++) {
  t = performance.now();
  await loadSdModel('sd15-f16.safetensors', models);
  console.log(`later load, graphs from the cache:   ${seconds(t)}`);
}
t = performance.now();
await sha256File(file);
console.log(`sha256 of the ${(end / 1e9).toFixed(2)} GB checkpoint (sparse, so no disk reads): ${seconds(t)}`);
rmSync(data, { recursive: true, force: true });
