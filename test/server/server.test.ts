import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodePreviewFrame, type PreviewHeader } from '../../runtime/preview-frame.ts';
import type { RunEvent } from '../../runtime/events.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { UPLOAD_LIMITS } from '../../server/routes/inputs.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';

const example = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../graphs/image-basics.json'), 'utf8'));
let server: RunningServer;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-server-'));

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, registry: testRegistry() });
});
afterAll(() => server.close());

const api = (p: string, init?: RequestInit) => fetch(`${server.url}/api${p}`, init);
const postJson = (p: string, body: unknown) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Collects JSON events and binary preview frames until the run ends. */
function watch(filterRunId?: string) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws${filterRunId ? `?runId=${filterRunId}` : ''}`);
  const events: RunEvent[] = [];
  const frames: { header: PreviewHeader; image: Uint8Array }[] = [];
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  let finish: () => void;
  const ended = new Promise<void>((r) => (finish = r));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return void frames.push(decodePreviewFrame(new Uint8Array(data as Buffer)));
    const msg = JSON.parse(data.toString());
    if (msg.type === 'hello') return;
    if (filterRunId && msg.runId !== filterRunId) return;
    events.push(msg);
    if (['run.finished', 'run.failed', 'run.cancelled'].includes(msg.type)) finish();
  });
  return { ws, events, frames, opened, ended };
}

describe('server', () => {
  it('serves the catalog and the graph schema', async () => {
    const catalog = await (await api('/nodes')).json();
    const resize = catalog.nodes.find((n: { type: string }) => n.type === 'image/resize');
    expect(resize.params.properties.width).toMatchObject({ type: 'integer', minimum: 1, maximum: 8192, default: 512 });
    expect(catalog.portTypes.IMAGE.feeds).toEqual(['IMAGE', 'IMAGES']);
    const schema = await (await api('/schema/graph')).json();
    expect(schema.properties.format.const).toBe('facechain-graph');
  });

  it('runs a shipped graph: ordered events and binary preview frames over the WebSocket', async () => {
    const watcher = watch();
    await watcher.opened;
    const res = await postJson('/runs', { graph: example });
    expect(res.status).toBe(202);
    const { runId } = await res.json();
    await watcher.ended;
    watcher.ws.close();
    const types = watcher.events.filter((e) => e.runId === runId).map((e) => e.type);
    expect(types[0]).toBe('run.queued');
    expect(types[1]).toBe('run.started');
    expect(types.at(-1)).toBe('run.finished');
    // Each node starts before it finishes, and in dependency order.
    const order = watcher.events.filter((e) => e.type === 'node.finished').map((e) => (e as { nodeId: string }).nodeId);
    expect(order.indexOf('load')).toBeLessThan(order.indexOf('resize'));
    expect(order.indexOf('grid')).toBeLessThan(order.indexOf('save'));
    const gridFrame = watcher.frames.find((f) => f.header.nodeId === 'grid');
    expect(gridFrame).toBeDefined();
    const meta = await sharp(Buffer.from(gridFrame!.image)).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([gridFrame!.header.width, gridFrame!.header.height]);

    const run = await (await api(`/runs/${runId}`)).json();
    expect(run.status).toBe('finished');
    expect(run.nodes.grid).toMatchObject({ state: 'done', images: { image: 1 } });
    const full = await api(`/runs/${runId}/outputs/resize/images/0`);
    expect(full.headers.get('content-type')).toBe('image/png');
    expect((await sharp(Buffer.from(await full.arrayBuffer())).metadata()).width).toBe(384);
    const fileId = run.nodes.save.outputs.files;
    const file = await api(`/files/${fileId}`);
    expect(file.status).toBe(200);
  });

  it('answers an invalid graph with 400 and problems naming node and field', async () => {
    const bad = structuredClone(example);
    bad.nodes[1].params.width = 0;
    const res = await postJson('/runs', { graph: bad });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.problems).toContainEqual(expect.objectContaining({ node: 'resize', field: 'params.width' }));
  });

  it('cancels a running run; a client that disconnects does not stop a run', async () => {
    const slow = {
      format: 'facechain-graph',
      version: 1,
      name: 'slow',
      nodes: [
        { id: 'a', type: 'test/constant', params: {} },
        { id: 's', type: 'test/slow', params: { steps: 2000, stepMs: 5 } },
      ],
      edges: [{ from: { node: 'a', port: 'value' }, to: { node: 's', port: 'a' } }],
    };
    const quitter = watch();
    await quitter.opened;
    const { runId } = await (await postJson('/runs', { graph: slow })).json();
    quitter.ws.terminate();
    const watcher = watch(runId);
    await watcher.opened;
    await new Promise((r) => setTimeout(r, 300));
    expect((await (await api(`/runs/${runId}`)).json()).status).toBe('running');
    expect(await (await postJson(`/runs/${runId}/cancel`, {})).json()).toEqual({ ok: true });
    await watcher.ended;
    watcher.ws.close();
    expect(watcher.events.at(-1)?.type).toBe('run.cancelled');
    expect(watcher.events[0].type).toBe('run.queued');
  });

  it('accepts an image upload and rejects a non-image', async () => {
    const png = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const ok = await api('/uploads?name=red.png', { method: 'POST', body: png });
    expect(ok.status).toBe(201);
    const up = await ok.json();
    expect(up).toMatchObject({ width: 20, height: 10, path: expect.stringMatching(/^uploads\/[0-9a-f]{16}\.png$/) });
    const listing = await (await api('/inputs')).json();
    expect(listing.entries.map((e: { path: string }) => e.path)).toContain(up.path);

    const bad = await api('/uploads', { method: 'POST', body: Buffer.from('#!/bin/sh\necho not an image\n') });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/Not an image/);
  });

  it('answers an image over the pixel limit with 413 before decoding it', async () => {
    // 6400x6400 = 40.96 MP, just over the limit; a solid colour compresses to about 1 MB.
    const side = Math.ceil(Math.sqrt(UPLOAD_LIMITS.pixels + 1));
    const big = await sharp({ create: { width: side, height: side, channels: 3, background: '#808080' } }).png({ compressionLevel: 1 }).toBuffer();
    expect(big.length).toBeLessThan(UPLOAD_LIMITS.bytes);
    const res = await api('/uploads', { method: 'POST', body: big });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe(`Image is ${side}x${side} (${side * side} pixels); the upload limit is ${UPLOAD_LIMITS.pixels} pixels`);
  });

  it('answers a body over the byte limit with 413 and a JSON error', async () => {
    const res = await api('/uploads', { method: 'POST', body: new Uint8Array(UPLOAD_LIMITS.bytes + 1) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: `Request body is too large: the limit for this endpoint is ${UPLOAD_LIMITS.bytes} bytes (25 MB)` });
  });

  it('keeps an upload in its own format', async () => {
    const webp = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#00ff00' } }).webp().toBuffer();
    const up = await (await api('/uploads', { method: 'POST', body: webp })).json();
    expect(up.path).toMatch(/^uploads\/[0-9a-f]{16}\.webp$/);
    expect(readFileSync(path.join(dataDir, 'input', up.path))).toEqual(webp);
  });

  it('rejects path traversal on every file endpoint', async () => {
    for (const p of ['../../../etc/passwd', '/etc/passwd', 'samples/../../x', 'a\\..\\b']) {
      const res = await api(`/inputs/thumbnail?path=${encodeURIComponent(p)}`);
      expect(res.status, p).toBe(400);
    }
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '..', '%2Fetc%2Fpasswd', 'x.json']) {
      const res = await api(`/files/${id}`);
      expect(res.status, id).toBeGreaterThanOrEqual(400);
      expect(await res.text()).not.toMatch(/root:/);
    }
    expect((await api('/graphs/user/..%2F..%2Fsecret')).status).toBe(400);
    expect((await api('/models?kind=..')).status).toBe(400);
  });

  it('lists the model store: safetensors in subfolders, diffusers folders whole, no pickles; unknown kinds are a 400', async () => {
    const ck = path.join(dataDir, 'models', 'checkpoints');
    const put = (rel: string, content: string) => {
      mkdirSync(path.dirname(path.join(ck, rel)), { recursive: true });
      writeFileSync(path.join(ck, rel), content);
    };
    put('sd15.safetensors', 'abcd');
    put('old/model.ckpt', 'pickle');
    put('sd15-diffusers/model_index.json', '{}');
    put('sd15-diffusers/unet/diffusion_pytorch_model.safetensors', '123');
    const res = await api('/models?kind=checkpoints');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      kind: 'checkpoints',
      files: [
        { path: 'sd15-diffusers', size: 5, kind: 'folder' },
        { path: 'sd15.safetensors', size: 4, kind: 'file' },
      ],
    });
    expect(await (await api('/models?kind=loras')).json()).toEqual({ kind: 'loras', files: [] });
    for (const kind of ['secrets', '', '..']) {
      const bad = await api(`/models?kind=${kind}`);
      expect(bad.status, kind).toBe(400);
      expect((await bad.json()).error).toMatch(/kind: one of checkpoints, loras, face/);
    }
  });

  it('saves and loads user graphs', async () => {
    const put = await api('/graphs/user/my-graph', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(example) });
    expect(put.status).toBe(200);
    expect(await (await api('/graphs/user/my-graph')).json()).toMatchObject({ name: example.name, nodes: example.nodes });
    const list = await (await api('/graphs')).json();
    expect(list.examples).toContainEqual({ id: 'image-basics', name: example.name, about: example.meta.about });
    // Every shipped graph, image-basics first (meta.order), and not the JSON Schema beside them.
    const shipped = readdirSync(path.join(import.meta.dirname, '../../graphs')).filter((f) => f.endsWith('.json') && f !== 'schema.json');
    expect(list.examples.map((g: { id: string }) => g.id).sort()).toEqual(shipped.map((f) => f.slice(0, -5)).sort());
    expect(list.examples[0].id).toBe('image-basics');
    expect(list.examples.find((g: { id: string }) => g.id === 'facechain-portrait').about).toMatch(/whole pipeline/);
    expect(list.user.map((g: { id: string }) => g.id)).toContain('my-graph');
  });
});

describe('server token', () => {
  it('refuses a non-loopback bind without a token', async () => {
    await expect(startServer({ host: '0.0.0.0', port: 0, dataDir: mkdtempSync(path.join(os.tmpdir(), 'fc-')) })).rejects.toThrow(/FACECHAIN_TOKEN/);
  });

  it('checks the token on REST and WebSocket', async () => {
    const s = await startServer({ host: '127.0.0.1', port: 0, token: 's3cret', dataDir: mkdtempSync(path.join(os.tmpdir(), 'fc-')) });
    try {
      expect((await fetch(`${s.url}/api/nodes`)).status).toBe(401);
      expect((await fetch(`${s.url}/api/nodes`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
      expect((await fetch(`${s.url}/api/nodes?token=wrong`)).status).toBe(401);
      const refused = await new Promise((resolve) => {
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
        ws.on('open', () => resolve('open'));
      });
      expect(refused).toBe(401);
      const accepted = await new Promise((resolve) => {
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws?token=s3cret`);
        ws.on('message', (d) => (resolve(JSON.parse(d.toString()).type), ws.close()));
      });
      expect(accepted).toBe('hello');
    } finally {
      await s.close();
    }
  });
});

describe('server options', () => {
  it('cacheBytes sets the output cache budget: 0 re-executes every node of a repeated run', async () => {
    const g = graph([{ id: 'a', type: 'test/constant' }, { id: 'b', type: 'test/add' }], [['a', 'value', 'b', 'a']]);
    const states = async (s: RunningServer) => {
      const { runId } = await (await fetch(`${s.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: g }) })).json();
      await s.context.queue.idle();
      const run = await (await fetch(`${s.url}/api/runs/${runId}`)).json();
      return Object.values(run.nodes).map((n) => (n as { state: string }).state);
    };
    const none = await startServer({ port: 0, cacheBytes: 0, dataDir: mkdtempSync(path.join(os.tmpdir(), 'fc-')), registry: testRegistry() });
    const dflt = await startServer({ port: 0, dataDir: mkdtempSync(path.join(os.tmpdir(), 'fc-')), registry: testRegistry() });
    try {
      await states(none);
      expect(await states(none)).toEqual(['done', 'done']);
      await states(dflt);
      expect(await states(dflt)).toEqual(['cached', 'cached']);
    } finally {
      await Promise.all([none.close(), dflt.close()]);
    }
  });
});
