import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodePreviewFrame } from '../../protocol/index.ts';
import { startServer } from '../../server/app.ts';
import { tempDir } from '../helpers/temp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const graphFile = path.join(ROOT, 'graphs/txt2img.json');
const small = { width: 128, height: 96, steps: 4, batch: 1 };

describe('shipped txt2img graph on the tiny model', () => {
  it('runs through the CLI and writes an image of the requested size', async () => {
    const tmp = tempDir('sd');
    const sets = Object.entries(small).flatMap(([k, v]) => ['--set', `sampler.${k}=${v}`]);
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/facechain.js'), 'run', graphFile, '--data', path.join(tmp, 'data'), '--out', path.join(tmp, 'out'), ...sets, '--quiet']);
    const files = readdirSync(path.join(tmp, 'out'));
    expect(files).toHaveLength(1);
    const meta = await sharp(path.join(tmp, 'out', files[0]!)).metadata();
    expect([meta.width, meta.height]).toEqual([128, 96]);
  });

  it('streams a sampler preview per step over the WebSocket', async () => {
    const server = await startServer({ port: 0, dataDir: tempDir('sd') });
    try {
      const doc = JSON.parse(readFileSync(graphFile, 'utf8'));
      Object.assign(doc.nodes.find((n: { id: string }) => n.id === 'sampler').params, small);
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
      await new Promise((r) => ws.once('open', r));
      const frames: { nodeId: string; width: number }[] = [];
      const done = new Promise<string>((resolve) =>
        ws.on('message', (data, binary) => {
          if (binary) return void frames.push(decodePreviewFrame(new Uint8Array(data as Buffer)).header);
          const e = JSON.parse(data.toString());
          if (e.type?.startsWith('run.') && e.type !== 'run.queued' && e.type !== 'run.started') resolve(e.type);
        }),
      );
      const res = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: doc }) });
      expect(res.status).toBe(202);
      expect(await done).toBe('run.finished');
      ws.close();
      const samplerFrames = frames.filter((f) => f.nodeId === 'sampler');
      expect(samplerFrames.length).toBeGreaterThanOrEqual(small.steps);
      expect(frames.some((f) => f.nodeId === 'decode' || f.nodeId === 'save')).toBe(true);
    } finally {
      await server.close();
    }
  });
});
