// A real redis-server for the Redis engine's tests: a free loopback port, its own temp folder, AOF on.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tempDir } from './temp.ts';

export interface TestRedis {
  url: string;
  dir: string;
  /** Stops it the way a crash would (SIGKILL): what AOF had written survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once Redis says it accepts connections; rejects with its output if it exits first. */
function launch(port: number, dir: string, extra: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** `extra`: more redis-server arguments (`--requirepass`, ...). */
export async function startRedis(extra: string[] = []): Promise<TestRedis> {
  const dir = tempDir('redis');
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may take the probed port before Redis binds it: probe again.
  for (let tries = 0; !child; tries++) {
    port = await freePort();
    child = await launch(port, dir, extra).catch((e: Error) => {
      if (tries >= 4 || !e.message.includes('Address already in use')) throw e;
      return undefined;
    });
  }
  let current = child;
  return {
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill: async () => {
      current.kill('SIGKILL');
      await exited(current);
    },
    restart: async () => {
      current = await launch(port, dir, extra);
    },
    stop: async () => {
      current.kill('SIGTERM');
      await exited(current);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
