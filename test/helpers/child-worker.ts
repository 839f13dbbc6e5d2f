// A Redis worker in a process of its own, for tests that kill it (SIGKILL).
// Usage: node --import tsx test/helpers/child-worker.ts <redisUrl> <dataDir> <name> [--lock-ms N]
// Prints one line, "ready", once it takes runs.
import { parseArgs } from 'node:util';
import { startWorker } from '../../server/worker.ts';
import { testRegistry } from './test-nodes.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'lock-ms': { type: 'string' } } });
const [redis, dataDir, name] = positionals;
await startWorker({ redis: redis!, dataDir, name, registry: testRegistry(), cacheBytes: 0, lockMs: Number(values['lock-ms'] ?? 0) || undefined });
process.stdout.write('ready\n');
