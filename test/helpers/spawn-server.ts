import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

export type ChildWorker = Omit<ChildServer, 'url'>;

/** Runs a test/helpers script in a process of its own; resolves with its first line of output. */
function spawnHelper(script: string, args: string[]): Promise<{ line: string } & ChildWorker> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready: ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      resolve({
        line,
        child,
        kill: () => {
          child.kill('SIGKILL');
          return gone;
        },
      });
    });
  });
}

/** Starts test/helpers/child-server.ts on a data folder; resolves when it listens. */
export async function spawnServer(dataDir: string, args: string[] = []): Promise<ChildServer> {
  const { line, ...rest } = await spawnHelper('child-server.ts', [dataDir, ...args]);
  return { url: (JSON.parse(line) as { url: string }).url, ...rest };
}

/** Starts test/helpers/child-worker.ts (a Redis worker with the test nodes); resolves when it takes runs. */
export async function spawnWorker(redisUrl: string, dataDir: string, name: string, args: string[] = []): Promise<ChildWorker> {
  const { line: _ready, ...rest } = await spawnHelper('child-worker.ts', [redisUrl, dataDir, name, ...args]);
  return rest;
}
