import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createRegistry } from '../nodes/index.ts';
import { openDataFolders, type DataFolders } from '../runtime/data-folder.ts';
import { Executor } from '../runtime/executor.ts';
import { OutputCache } from '../runtime/output-cache.ts';
import type { NodeRegistry } from '../runtime/registry.ts';
import { ensureSampleInputs } from '../runtime/sample-inputs.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../runtime/json-depth.ts';
import type { ErrorBody, Health } from '../protocol/index.ts';
import { assertBindAllowed, refusal } from './auth.ts';
import type { ServerContext } from './context.ts';
import { HttpError, toHttpError } from './http-error.ts';
import { componentRoutes } from './routes/components.ts';
import { graphRoutes, reportBrokenGraphs } from './routes/graphs.ts';
import { inputRoutes } from './routes/inputs.ts';
import { runRoutes } from './routes/runs.ts';
import { RunHistory } from './run-history.ts';
import { RunQueue } from './run-queue.ts';
import type { RunEngine } from './queue/engine.ts';
import { RedisEngine } from './queue/redis-engine.ts';
import { runtimeInfo } from './runtime-info.ts';
import { attachWebSocket } from './ws.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PORT = 7860;
export const DEFAULT_HOST = '127.0.0.1';

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  dataDir?: string;
  token?: string;
  /** The built editor (default editor/dist); false serves the API only. */
  editorDir?: string | false;
  workers?: number;
  /** Byte budget of the in-memory node output cache (default DEFAULT_CACHE_BYTES, 2 GiB). */
  cacheBytes?: number;
  /** What one run's outputs may hold (default: three quarters of the free memory when the run starts). */
  runMemoryBytes?: number;
  registry?: NodeRegistry;
  /** Ended runs whose full-size outputs stay in memory for the editor (default KEPT_OUTPUT_RUNS; 0: none). */
  keptOutputRuns?: number;
  /** Queue runs in Redis for `facechain worker` processes (redis://, rediss://, with a password) instead of running them here. */
  redis?: string;
}

export interface RunningServer {
  url: string;
  context: ServerContext;
  close(): Promise<void>;
}

/** The executor of a process that runs graphs itself (a server on the embedded engine, a worker). */
export function localExecutor(registry: NodeRegistry, data: DataFolders, options: Pick<ServerOptions, 'cacheBytes' | 'runMemoryBytes'>): Executor {
  return new Executor({ registry, data, cache: new OutputCache(options.cacheBytes), memoryBudget: options.runMemoryBytes });
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const token = options.token || undefined;
  assertBindAllowed(host, token);
  const data: DataFolders = openDataFolders(options.dataDir);
  await ensureSampleInputs(data);
  const registry = options.registry ?? createRegistry();
  reportBrokenGraphs(data.graphs, (line) => process.stderr.write(line));
  const history = new RunHistory(data.runs);
  const queue: RunEngine = options.redis
    ? await RedisEngine.open({ url: options.redis, registry, history })
    : new RunQueue({ executor: localExecutor(registry, data, options), registry, data, history, workers: options.workers ?? 1, outputsLimit: options.keptOutputRuns });
  const context: ServerContext = { registry, data, queue, history, examplesDir: path.join(ROOT, 'graphs') };

  const app = express();
  const server = createServer(app);
  app.disable('x-powered-by');
  app.use('/api', (req, _res, next) => {
    const refused = refusal(req, token);
    next(refused && new HttpError(refused.status, refused.message));
  });
  app.get('/api/health', async (_req, res) => void res.json({ ok: true, version: 1, runtime: await runtimeInfo() } satisfies Health));
  app.use('/api', express.json({ limit: '20mb' }), (req, _res, next) => {
    next(nestsDeeperThan(req.body) ? new HttpError(400, `The request body nests deeper than ${MAX_JSON_DEPTH} levels: no graph does`) : undefined);
  });
  app.use('/api', graphRoutes(context), componentRoutes(context), inputRoutes(context), runRoutes(context));
  app.use('/api', (_req, _res, next) => next(new HttpError(404, 'No such API endpoint')));

  const editorDir = options.editorDir ?? path.join(ROOT, 'editor', 'dist');
  if (editorDir) app.use(express.static(editorDir, { index: 'index.html' }));
  app.get('/{*any}', (_req, res) => {
    const index = editorDir && path.join(editorDir, 'index.html');
    if (index && existsSync(index)) res.sendFile(index);
    else if (!editorDir) res.status(404).type('text').send('This server serves the API only (--api-only): start it without that flag for the editor.');
    else res.status(503).type('text').send('The editor is not built: run `npm install`, then `npm run build:editor` (or `npm start`, which builds it when Vite is installed).');
  });
  // The one place errors become answers: a status and a message, never a machine path or a stack.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = toHttpError(err);
    if (answer.unexpected) process.stderr.write(`${req.method} ${req.path}: ${(err as Error)?.stack ?? String(err)}\n`);
    if (res.headersSent) return void res.destroy();
    res.status(answer.status).json({ error: answer.message, problems: answer.problems } satisfies ErrorBody);
  });

  const wanted = options.port ?? DEFAULT_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new Error(`port ${wanted} is in use; use --port`));
      else if (e.code === 'EACCES') reject(new Error(`port ${wanted} needs more rights than this user has; use --port`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new Error(`${host} is no address of this machine; use --host`));
      else reject(e);
    });
    server.listen(wanted, host, resolve);
  }).catch(async (e: unknown) => {
    // Not listening: the engine's connections (Redis) must not keep the process alive.
    await queue.close();
    throw e;
  });
  // Attached once listening: the WebSocket server re-emits the HTTP server's errors.
  const wss = attachWebSocket(server, queue, history, token);
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    context,
    close: async () => {
      await queue.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
