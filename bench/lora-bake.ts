// Baking a rank-32 LoRA into SD1.5-sized weights (every UNet and text-encoder LoRA target, float32):
// throughput in GB/s of weights merged, against copying the same weights into new buffers (the least
// any bake that leaves the base untouched must do). Goal: at least 50% of the copy's speed.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sd15 } from '../models/sd/config.ts';
import { bakeStack } from '../models/lora/bake.ts';
import { moduleIndex } from '../models/lora/modules.ts';
import { LoraStack } from '../models/lora/stack.ts';
import type { HostTensor } from '../models/onnx/index.ts';
import type { Lora } from '../models/lora/schema.ts';
import { Rng } from '../runtime/rng.ts';

const RANK = 32;
const rng = new Rng(7);
const targets = [...moduleIndex(sd15).byName.values()].filter((m) => m.target);
const base = new Map<string, HostTensor>();
const modules: Lora['modules'] = [];
for (const m of targets) {
  const [out = 0, inDim = 0] = m.shape;
  // A repeating random block: the values do not matter for speed, generating 350M normals would.
  const w = new Float32Array(out * inDim);
  const block = rng.fillNormal(new Float32Array(4096));
  for (let i = 0; i < w.length; i += block.length) w.set(block.subarray(0, Math.min(block.length, w.length - i)), i);
  base.set(`${m.ldm}.weight`, { dtype: 'float32', dims: m.shape, data: w });
  const down = rng.fillNormal(new Float32Array(RANK * inDim));
  const up = rng.fillNormal(new Float32Array(out * RANK));
  const conv = m.shape.length === 4;
  modules.push({
    name: m.name, alpha: RANK / 2,
    down: { dtype: 'float32', dims: conv ? [RANK, inDim, 1, 1] : [RANK, inDim], data: down },
    up: { dtype: 'float32', dims: conv ? [out, RANK, 1, 1] : [out, RANK], data: up },
  });
}
const lora: Lora = { name: 'bench', source: 'memory', format: 'kohya', base: 'sd15', metadata: {}, modules, ignoredKeys: [] };
const stack = new LoraStack([{ lora, weight: 0.8 }]);
const bytes = [...base.values()].reduce((s, t) => s + t.data.byteLength, 0);
const gb = bytes / 1e9;

/** Wall and process CPU seconds (CPU includes ORT's threads; steadier when the machine is shared). */
async function timed(fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - wall) / 1000, cpu: (used.user + used.system) / 1e6 };
}
// Both keep their results until the round ends, as a bake does, and start from a collected heap.
const collect = (() => {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
const copyAll = () => timed(() => {
  const copies = new Map([...base].map(([k, t]) => [k, new Float32Array(t.data as Float32Array)]));
  if (copies.size !== targets.length) throw new Error('not every module was copied');
});
const bakeAll = () => timed(async () => {
  const merged = await bakeStack(stack, (key) => base.get(key)!);
  if (merged.size !== targets.length) throw new Error('not every module was baked');
});

await bakeAll(); // warm-up: session creation, first touch of memory
// Interleave rounds so drift in machine load hits both alike; keep the best of each.
const best = { copy: { wall: Infinity, cpu: Infinity }, bake: { wall: Infinity, cpu: Infinity } };
const keep = (k: 'copy' | 'bake', t: { wall: number; cpu: number }) => {
  best[k] = { wall: Math.min(best[k].wall, t.wall), cpu: Math.min(best[k].cpu, t.cpu) };
};
for (let r = 0; r < 3; r++) {
  collect();
  keep('copy', await copyAll());
  collect();
  keep('bake', await bakeAll());
}
const { copy, bake } = best;
const ratio = copy.wall / bake.wall;
const rate = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(2)} s (${(gb / t.wall).toFixed(2)} GB/s; CPU ${t.cpu.toFixed(2)} s)`;
console.log(
  `bake rank ${RANK} into ${targets.length} SD1.5 modules (${gb.toFixed(2)} GB float32): ${rate(bake)}; copy ${rate(copy)}; ` +
    `ratio ${(100 * ratio).toFixed(0)}% (goal >= 50%) ${ratio >= 0.5 ? 'OK' : 'MISSED'}; by CPU time ${(100 * copy.cpu / bake.cpu).toFixed(0)}%`,
);
