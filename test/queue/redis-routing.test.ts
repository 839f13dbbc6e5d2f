// Item (issue 14): runs go only to a worker that has the model files they need; a run no worker can take
// is refused, saying what each worker lacks. Real redis-server, two workers with different model stores.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { WORKER_LOG } from '../../server/queue/redis-worker.ts';
import { startServer } from '../../server/app.ts';
import { startWorker } from '../../server/worker.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { runEnded, runEvents, submit, watchEvents } from '../helpers/run-client.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';
import { tempDir } from '../helpers/temp.ts';

const started: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of started.reverse()) await stop();
});

const needs = (file: string) => graph([{ id: 'm', type: 'test/model', params: { file } }]);

it('a run needing a LoRA only worker B has runs on B; one no worker has is refused with why', { timeout: 240_000 }, async () => {
  const redis = await startRedis();
  started.push(redis.stop);
  const dirB = tempDir('worker-B');
  mkdirSync(path.join(dirB, 'models', 'loras'), { recursive: true });
  writeFileSync(path.join(dirB, 'models', 'loras', 'face.safetensors'), 'not read by the test node');
  for (const [name, dataDir] of [['A', tempDir('worker-A')], ['B', dirB]]) {
    const w = await startWorker({ redis: redis.url, dataDir, registry: testRegistry(), cacheBytes: 0, name });
    started.push(w.close);
  }
  const server = await startServer({ port: 0, dataDir: tempDir('routing'), registry: testRegistry(), redis: redis.url, editorDir: false });
  started.push(server.close);
  const watcher = await watchEvents(server.url);

  // Several at once, with A idle: none of them may go to A.
  const ids = await Promise.all(Array.from({ length: 4 }, () => submit(server.url, needs('face.safetensors'))));
  // And runs that need nothing still go to either.
  const free = await submit(server.url, graph([{ id: 'c', type: 'test/constant' }]));
  for (const id of [...ids, free]) expect((await watcher.until((e) => e.runId === id && runEnded(e))).type).toBe('run.finished');
  for (const id of ids) {
    const by = (await runEvents(server.url, id)).flatMap((e) => (e.type === 'log' && e.message.startsWith(WORKER_LOG) ? [e.message] : []));
    expect(by).toEqual([`${WORKER_LOG}B`]);
  }

  const refused = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: needs('other.safetensors') }) });
  expect(refused.status).toBe(409);
  const { error } = (await refused.json()) as { error: string };
  expect(error).toContain('No worker can run this graph');
  expect(error).toContain('worker A lacks models/loras/other.safetensors');
  expect(error).toContain('worker B lacks models/loras/other.safetensors');
  watcher.close();
});
