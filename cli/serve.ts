import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from '../server/app.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the editor with Vite when no build is there yet (a fresh checkout). */
export async function ensureEditorBuilt(): Promise<void> {
  if (existsSync(path.join(ROOT, 'editor', 'dist', 'index.html'))) return;
  const config = path.join(ROOT, 'editor', 'vite.config.ts');
  if (!existsSync(config)) return;
  process.stderr.write('Building the editor (first start only)...\n');
  const { build } = await import('vite');
  await build({ configFile: config, logLevel: 'warn' });
}

export async function serveCommand(flags: { port?: string; host?: string; data?: string; token?: string; workers?: string }): Promise<number> {
  await ensureEditorBuilt();
  const server = await startServer({
    host: flags.host ?? process.env.HOST ?? DEFAULT_HOST,
    port: Number(flags.port ?? process.env.PORT ?? DEFAULT_PORT),
    dataDir: flags.data,
    token: flags.token ?? process.env.FACECHAIN_TOKEN,
    workers: Math.max(1, Number(flags.workers ?? process.env.FACECHAIN_WORKERS ?? 1) || 1),
  });
  process.stderr.write(`FaceChain Studio on ${server.url} (data: ${server.context.data.root})\n`);
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise(() => {});
  return 0;
}
