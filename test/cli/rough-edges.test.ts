import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-cli-edges-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |node:internal|Maximum call stack/);

describe('facechain CLI rough edges', () => {
  it('a 100k-deep JSON file is refused with a clear line, for run and validate', async () => {
    const file = path.join(tmp, 'deep.json');
    writeFileSync(file, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    for (const command of ['run', 'validate']) {
      const r = await cli([command, file, '--data', path.join(tmp, 'data')]);
      expect(r.code, command).toBe(1);
      expect(r.stderr.trim()).toBe(`facechain ${command}: ${file} nests deeper than 100 levels: no graph does`);
    }
  });

  it('--help prints the usage; an unknown option says which, then the usage; no stack', async () => {
    const help = await cli(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^facechain <command>\n/);
    expect(help.stdout).toContain('run <graph.json>');
    const bad = await cli(['run', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^facechain run: Unknown option '--bogus'/);
    noStack(bad.stderr + help.stderr);
  });

  it('a busy port is one clear line, not an EADDRINUSE stack', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const r = await cli(['serve', '--api-only', '--port', String(port), '--data', path.join(tmp, 'data')]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`facechain serve: port ${port} is in use; use --port`);
    } finally {
      busy.close();
    }
  });

  // npm 11 does not pass SIGTERM on to its script: without care the server outlived `npm start`.
  it.each(['SIGTERM', 'SIGINT'] as const)('stopping `npm start` with %s stops the server', async (signal) => {
    const npm = spawn('npm', ['start', '--', '--api-only', '--port', '0', '--data', path.join(tmp, 'data')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let serverPid: number | undefined;
    try {
      let err = '';
      const url = await new Promise<string>((resolve, reject) => {
        npm.stderr.on('data', (d) => {
          err += d;
          const m = /FaceChain Studio on (http:\/\/\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        npm.on('exit', () => reject(new Error(`npm start ended early:\n${err}`)));
      });
      // With `exec` in the start script the server is npm's child.
      const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(npm.pid)]);
      serverPid = Number(stdout.trim());
      expect((await fetch(`${url}/api/health`)).status).toBe(200);
      // Everything that holds the pipe (npm, the server) has ended when it closes.
      const closed = new Promise((resolve) => npm.stderr.on('end', resolve));
      npm.kill(signal);
      await closed;
      await expect(fetch(`${url}/api/health`)).rejects.toThrow();
      expect(err).toMatch(/Stopping \(/);
    } finally {
      if (serverPid) try { process.kill(serverPid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
});
