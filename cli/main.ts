import { parseArgs } from 'node:util';
import { runCommand } from './run.ts';
import { serveCommand } from './serve.ts';
import { workerCommand } from './worker.ts';
import { nodesCommand, schemaCommand, validateCommand } from './inspect.ts';
import { modelsCommand } from './models.ts';
import { groupCommand } from './group.ts';

const USAGE = `facechain <command>

  serve [--port 7860] [--host 127.0.0.1] [--data ./data] [--token T] [--workers 1] [--cache-mb 2048] [--threads N] [--sd-memory lean|speed|int8] [--api-only]
        [--run-memory-mb N] [--keep-outputs 10] [--redis URL]
                                   start the server and the editor (--api-only: no editor build or pages;
                                   --redis or FACECHAIN_REDIS: queue runs in Redis for workers, run none here)
  worker --redis URL [--data ./data] [--workers 1] [--cache-mb 2048] [--threads N] [--sd-memory lean|speed|int8] [--run-memory-mb N] [--keep-outputs 10] [--name N]
                                   run the runs servers queue in Redis (--workers: runs at the same time)
  run <graph.json> [--set node.param=value ...] [--out dir] [--data dir] [--quiet] [--threads N] [--sd-memory lean|speed|int8] [--run-memory-mb N]
                                   run a graph headless, write its outputs
  validate <graph.json> [--data dir]
                                   list every problem of a graph, files missing from the data folder too
  group <graph.json> <grouping.json> [--out file]
                                   move nodes into components as the grouping file says
  nodes [--json]                   the node catalog
  schema [--write]                 the graph JSON Schema (--write: graphs/schema.json)
  models [--hash] [--json] [--data dir]
                                   the model folders' files, which are known models (--hash: hash new files)
  <command> --help                 this text

  --threads N (or FACECHAIN_THREADS): threads the networks use, shared by --workers runs (default: the physical cores)
  --sd-memory lean|speed|int8 (or FACECHAIN_SD_MEMORY): how SD runs on the CPU (default: lean, weights as stored);
                                   speed keeps the UNet's and VAE decoder's weights in float32: faster steps and
                                   decodes, about 2 GB more memory; int8 runs the UNet's linear layers on 8-bit
                                   weights (quantised once into the model cache) and the decoder as speed does:
                                   faster, less memory, images close to lean's but not equal
  --keep-outputs N (or FACECHAIN_KEEP_OUTPUTS): ended runs whose full-size outputs stay in memory for the editor
                                   (default 10); 0 keeps none: many short runs go faster, save nodes' files stay
`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  token: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  'sd-memory': { type: 'string' },
  'cache-mb': { type: 'string' },
  'run-memory-mb': { type: 'string' },
  'keep-outputs': { type: 'string' },
  set: { type: 'string', multiple: true },
  out: { type: 'string' },
  json: { type: 'boolean' },
  write: { type: 'boolean' },
  quiet: { type: 'boolean' },
  hash: { type: 'boolean' },
  'api-only': { type: 'boolean' },
  redis: { type: 'string' },
  name: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    process.stderr.write(`facechain ${command}: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(values);
      case 'worker':
        return await workerCommand(values);
      case 'run':
        return await runCommand(positionals[0], values);
      case 'validate':
        return validateCommand(positionals[0], values);
      case 'group':
        return groupCommand(positionals[0], positionals[1], values);
      case 'nodes':
        return nodesCommand(values.json ?? false);
      case 'schema':
        return schemaCommand(values.write ?? false);
      case 'models':
        return await modelsCommand(values);
      default:
        process.stdout.write(USAGE);
        return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
  } catch (e) {
    process.stderr.write(`facechain ${command}: ${(e as Error).message}\n`);
    return 1;
  }
}
