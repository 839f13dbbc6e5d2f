// A server in a process of its own, for tests and benches that kill it (SIGKILL) and start another on the
// same data folder. Usage: node --import tsx test/helpers/child-server.ts <dataDir> [--test-nodes] [--workers N] [--cache-mb N]
// Prints one line of JSON, {"url": ...}, once it listens.
import { parseArgs } from 'node:util';
import { cacheBytes } from '../../cli/serve.ts';
import { startServer } from '../../server/app.ts';
import { testRegistry } from './test-nodes.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'test-nodes': { type: 'boolean' }, workers: { type: 'string' }, 'cache-mb': { type: 'string' } } });
const server = await startServer({
  port: 0,
  dataDir: positionals[0],
  workers: Number(values.workers ?? 1),
  cacheBytes: cacheBytes(values['cache-mb']),
  registry: values['test-nodes'] ? testRegistry() : undefined,
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
