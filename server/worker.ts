import { createRegistry } from '../nodes/index.ts';
import { openDataFolders } from '../runtime/data-folder.ts';
import type { NodeRegistry } from '../runtime/registry.ts';
import { ensureSampleInputs } from '../runtime/sample-inputs.ts';
import { localExecutor } from './app.ts';
import { startRedisWorker, type RunningWorker } from './queue/redis-worker.ts';

export interface WorkerOptions {
  redis: string;
  dataDir?: string;
  /** Runs at the same time (default 1: one GPU, or the CPU cores, per run). */
  concurrency?: number;
  cacheBytes?: number;
  runMemoryBytes?: number;
  registry?: NodeRegistry;
  name?: string;
  keptOutputRuns?: number;
  /** See RedisWorkerOptions.lockMs. */
  lockMs?: number;
}

/** `facechain worker`: runs the runs servers queue in Redis, with this machine's models and data folder. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const data = openDataFolders(options.dataDir);
  await ensureSampleInputs(data);
  const registry = options.registry ?? createRegistry();
  const executor = localExecutor(registry, data, options);
  return startRedisWorker({ url: options.redis, executor, registry, data, concurrency: options.concurrency, name: options.name, lockMs: options.lockMs, keptOutputRuns: options.keptOutputRuns });
}
