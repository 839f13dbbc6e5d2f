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
import { assertBindAllowed, refusal } from './auth.ts';
import type { ServerContext } from './context.ts';
import { HttpError } from './http-error.ts';
import { graphRoutes } from './routes/graphs.ts';
import { inputRoutes } from './routes/inputs.ts';
import { runRoutes } from './routes/runs.ts';
import { RunHistory } from './run-history.ts';
import { RunQueue } from './run-queue.ts';
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
  /** The built editor (default editor/dist). */
  editorDir?: string;
  workers?: number;
  /** Byte budget of the in-memory node output cache (default DEFAULT_CACHE_BYTES, 2 GiB). */
  cacheBytes?: number;
  /** What one run's outputs may hold (default: three quarters of the free memory when the run starts). */
  runMemoryBytes?: number;
  registry?: NodeRegistry;
}

export interface RunningServer {
  url: string;
  context: ServerContext;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const token = options.token || undefined;
  assertBindAllowed(host, token);
  const data: DataFolders = openDataFolders(options.dataDir);
  await ensureSampleInputs(data);
  const registry = options.registry ?? createRegistry();
  const executor = new Executor({ registry, data, cache: new OutputCache(options.cacheBytes), memoryBudget: options.runMemoryBytes });
  const history = new RunHistory(data.runs);
  const queue = new RunQueue({ executor, registry, history, workers: options.workers ?? 1 });
  const context: ServerContext = { registry, data, queue, history, examplesDir: path.join(ROOT, 'graphs') };

  const app = express();
  const server = createServer(app);
  app.disable('x-powered-by');
  app.use('/api', (req, _res, next) => {
    const refused = refusal(req, token);
    next(refused && new HttpError(refused.status, refused.message));
  });
  app.get('/api/health', (_req, res) => void res.json({ ok: true, version: 1 }));
  app.use('/api', express.json({ limit: '20mb' }));
  app.use('/api', graphRoutes(context), inputRoutes(context), runRoutes(context));
  app.use('/api', (_req, _res, next) => next(new HttpError(404, 'No such API endpoint')));

  const editorDir = options.editorDir ?? path.join(ROOT, 'editor', 'dist');
  app.use(express.static(editorDir, { index: 'index.html' }));
  app.get('/{*any}', (_req, res) => {
    const index = path.join(editorDir, 'index.html');
    if (existsSync(index)) res.sendFile(index);
    else res.status(503).type('text').send('The editor is not built: run `npm install`, then `npm run build:editor` (or `npm start`, which builds it when Vite is installed).');
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string; limit?: number };
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: `Request body is too large: the limit for this endpoint is ${e.limit} bytes (${((e.limit ?? 0) / 1024 ** 2).toFixed(0)} MB)` });
      return;
    }
    const status = err instanceof HttpError ? err.status : e.type === 'entity.parse.failed' ? 400 : 500;
    res.status(status).json({ error: e.message ?? 'Internal error', problems: err instanceof HttpError ? err.problems : undefined });
  });

  const wss = attachWebSocket(server, queue, history, token);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    context,
    close: async () => {
      for (const run of queue.list()) queue.cancel(run.state.runId);
      await queue.idle();
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
