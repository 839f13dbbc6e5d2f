// Executor overhead per node: a 200-node chain of trivial nodes (goal: under 1 ms per node).
import { z } from 'zod';
import { openDataFolders } from '../runtime/data-folder.ts';
import { Executor } from '../runtime/executor.ts';
import { defineNode } from '../runtime/node.ts';
import { NodeRegistry } from '../runtime/registry.ts';
import { tempDir } from '../test/helpers/temp.ts';

const inc = defineNode({
  type: 'bench/inc',
  version: 1,
  category: 'bench',
  title: 'Increment',
  description: 'x + step',
  inputs: { x: { type: 'NUMBER', optional: true } },
  outputs: { x: { type: 'NUMBER' } },
  params: z.object({ step: z.number().default(1) }),
  run: (_ctx, { x }, p) => ({ x: (x ?? 0) + p.step }),
});

const N = 200;
const chain = (step: number) => ({
  format: 'facechain-graph',
  version: 1,
  name: 'chain',
  nodes: Array.from({ length: N }, (_, i) => ({ id: `n${i}`, type: 'bench/inc', params: { step: i === 0 ? step : 1 } })),
  edges: Array.from({ length: N - 1 }, (_, i) => ({ from: { node: `n${i}`, port: 'x' }, to: { node: `n${i + 1}`, port: 'x' } })),
});

const executor = new Executor({
  registry: new NodeRegistry([inc]),
  data: openDataFolders(tempDir('bench')),
});
let events = 0;
const onEvent = () => void events++;

for (let i = 0; i < 5; i++) await executor.run(chain(1000 + i), { onEvent }); // warm-up
const rounds = 20;
let t = performance.now();
for (let i = 0; i < rounds; i++) {
  const r = await executor.run(chain(i), { onEvent });
  if (r.executed.length !== N) throw new Error('expected every node to execute');
}
const fresh = (performance.now() - t) / rounds / N;
t = performance.now();
for (let i = 0; i < rounds; i++) await executor.run(chain(rounds - 1), { onEvent });
const cached = (performance.now() - t) / rounds / N;
console.log(`executor, ${N}-node chain: ${fresh.toFixed(3)} ms/node executed, ${cached.toFixed(3)} ms/node from cache (goal < 1 ms) ${fresh < 1 ? 'OK' : 'MISSED'}`);
