import { DEFAULT_HOST, DEFAULT_PORT, startServer } from '../server/app.ts';
import { ensureEditorBuilt } from './editor-build.ts';
import { threadsFlag } from './threads-flag.ts';
import { configureSdMemory } from '../models/sd/fp16.ts';
import { configureThreads } from '../models/session/threads.ts';

/** The link to open: with a token the browser needs it once (the editor keeps it for the session). */
export function editorLink(url: string, token?: string): string {
  return token ? `${url}/?token=${encodeURIComponent(token)}` : url;
}

/** A flag given in MiB as bytes (unset: the default applies). */
export function mebibytes(flag: string, mb: string | undefined): number | undefined {
  if (mb === undefined || mb === '') return undefined;
  const n = Number(mb);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: a number of MiB, 0 or more (got "${mb}")`);
  return Math.round(n * 1024 ** 2);
}

/** `--cache-mb` / FACECHAIN_CACHE_MB: the node output cache's budget. */
export const cacheBytes = (mb: string | undefined) => mebibytes('--cache-mb', mb);

/** `--run-memory-mb` / FACECHAIN_RUN_MEMORY_MB: what one run's outputs may hold (default: from free memory). */
export const runMemoryBytes = (mb: string | undefined) => mebibytes('--run-memory-mb', mb ?? process.env.FACECHAIN_RUN_MEMORY_MB);

/**
 * `--keep-outputs N` / FACECHAIN_KEEP_OUTPUTS: ended runs whose full-size outputs stay in memory (unset:
 * the default). 0 keeps none: many short runs go faster (no fresh memory for each run's outputs).
 */
export function keptOutputRuns(n: string | undefined): number | undefined {
  const given = n ?? process.env.FACECHAIN_KEEP_OUTPUTS;
  if (given === undefined || given === '') return undefined;
  const runs = Number(given);
  if (!Number.isInteger(runs) || runs < 0) throw new Error(`--keep-outputs: a whole number of runs, 0 or more (got "${given}")`);
  return runs;
}

/** Closes on SIGINT/SIGTERM/SIGHUP, once, then exits; answers the stop function for other reasons. */
export function stopOnSignals(close: () => Promise<void>): (why: string) => Promise<void> {
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`Stopping (${why})...\n`);
    await close();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void stop(signal));
  return stop;
}

export async function serveCommand(flags: {
  port?: string;
  host?: string;
  data?: string;
  token?: string;
  workers?: string;
  'cache-mb'?: string;
  'run-memory-mb'?: string;
  'keep-outputs'?: string;
  'api-only'?: boolean;
  threads?: string;
  'sd-memory'?: string;
  redis?: string;
}): Promise<number> {
  const workers = Math.max(1, Number(flags.workers ?? process.env.FACECHAIN_WORKERS ?? 1) || 1);
  // Runs at the same time split the cores between them.
  configureThreads({ threads: threadsFlag(flags.threads), workers });
  configureSdMemory(flags['sd-memory']);

  if (!flags['api-only']) {
    const editor = await ensureEditorBuilt(undefined, (why) => process.stderr.write(`Building the editor (${why})...\n`));
    if ('warning' in editor) process.stderr.write(`${editor.warning}\n`);
  }
  const token = flags.token ?? process.env.FACECHAIN_TOKEN;
  const server = await startServer({
    host: flags.host ?? process.env.HOST ?? DEFAULT_HOST,
    port: Number(flags.port ?? process.env.PORT ?? DEFAULT_PORT),
    dataDir: flags.data,
    token,
    workers,
    cacheBytes: cacheBytes(flags['cache-mb'] ?? process.env.FACECHAIN_CACHE_MB),
    runMemoryBytes: runMemoryBytes(flags['run-memory-mb']),
    keptOutputRuns: keptOutputRuns(flags['keep-outputs']),
    redis: flags.redis ?? process.env.FACECHAIN_REDIS,
    ...(flags['api-only'] ? { editorDir: false as const } : {}),
  });
  process.stderr.write(`FaceChain Studio on ${editorLink(server.url, token)} (data: ${server.context.data.root})\n`);
  const stop = stopOnSignals(() => server.close());
  // npm (11) does not pass a SIGTERM on to the script it runs: it exits and leaves the server behind. So
  // under `npm start` (which execs node: npm is the parent) the server stops when its parent is gone.
  if (process.env.npm_lifecycle_event === 'start') {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && void stop('npm, which started it, has ended'), 500).unref();
  }
  await new Promise(() => {});
  return 0;
}
