import { configureSdMemory } from '../models/sd/fp16.ts';
import { configureThreads } from '../models/session/threads.ts';
import { startWorker } from '../server/worker.ts';
import { cacheBytes, keptOutputRuns, runMemoryBytes, stopOnSignals } from './serve.ts';
import { threadsFlag } from './threads-flag.ts';

/** `facechain worker --redis URL`: takes runs from the Redis queue until stopped (a stop lets the going ones end). */
export async function workerCommand(flags: { redis?: string; data?: string; workers?: string; threads?: string; 'sd-memory'?: string; 'cache-mb'?: string; 'run-memory-mb'?: string; 'keep-outputs'?: string; name?: string }): Promise<number> {
  const redis = flags.redis ?? process.env.FACECHAIN_REDIS;
  if (!redis) throw new Error('--redis URL (or FACECHAIN_REDIS) is needed: the queue the servers put runs in');
  const concurrency = Math.max(1, Number(flags.workers ?? process.env.FACECHAIN_WORKERS ?? 1) || 1);
  configureThreads({ threads: threadsFlag(flags.threads), workers: concurrency });
  configureSdMemory(flags['sd-memory']);
  const worker = await startWorker({
    redis,
    dataDir: flags.data,
    concurrency,
    cacheBytes: cacheBytes(flags['cache-mb'] ?? process.env.FACECHAIN_CACHE_MB),
    runMemoryBytes: runMemoryBytes(flags['run-memory-mb']),
    keptOutputRuns: keptOutputRuns(flags['keep-outputs']),
    // Names it in run logs ("Run by worker gpu-0"); default host:pid.
    name: flags.name ?? process.env.FACECHAIN_WORKER_NAME,
  });
  process.stderr.write(`FaceChain worker ${worker.name} takes runs from the Redis queue\n`);
  stopOnSignals(() => worker.close());
  await new Promise(() => {});
  return 0;
}
