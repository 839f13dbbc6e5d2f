import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';
import { z } from 'zod';
import { builtinNodes } from '../../nodes/index.ts';
import { defineNode } from '../../runtime/node.ts';
import { decodePreviewFrame, type PreviewHeader, type RunEvent } from '../../protocol/index.ts';
import { NodeRegistry } from '../../runtime/registry.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { UPLOAD_LIMITS } from '../../server/routes/inputs.ts';
import { failingGraph as failingGraphOf, graph, testNodes, testRegistry } from '../helpers/test-nodes.ts';
import {  } from '../helpers/temp.ts';
import { tempDir } from '../helpers/temp.ts';

const example = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../graphs/image-basics.json'), 'utf8'));
let server: RunningServer;
const dataDir = tempDir('server');

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, registry: testRegistry() });
});
afterAll(() => server.close());

const api = (p: string, init?: RequestInit) => fetch(`${server.url}/api${p}`, init);
const postJson = (p: string, body: unknown) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const submit = async (g: unknown, base = server.url) =>
  (await (await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: g }) })).json()).runId as string;
const ended = (e: RunEvent) => e.type === 'run.finished' || e.type === 'run.failed' || e.type === 'run.cancelled';

/** A graph with a slow node; `steps` differ between runs that must not hit the output cache. */
const slowGraph = (steps: number, stepMs = 5) =>
  graph([{ id: 'a', type: 'test/constant' }, { id: 's', type: 'test/slow', params: { steps, stepMs } }], [['a', 'value', 's', 'a']]);

const failingGraph = failingGraphOf();

/** Logs `lines` info lines: a log longer than the 500 lines a run view keeps. */
const chatty = defineNode({
  type: 'test/chatty',
  version: 1,
  category: 'test',
  title: 'Chatty',
  description: 'Logs numbered lines',
  inputs: {},
  outputs: { value: { type: 'NUMBER' } },
  params: z.object({ lines: z.number().int().min(0).max(10_000).default(1) }),
  run: (ctx, _inputs, p) => {
    for (let i = 1; i <= p.lines; i++) ctx.log.info(`line ${i}`);
    return { value: p.lines };
  },
});

/** A plain HTTP GET with headers fetch() will not send (Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

/** 'hello' when the WebSocket opens and greets, else the refusal's status and body. */
function wsOutcome(url: string, options?: ClientOptions): Promise<'hello' | { status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('message', (d) => (resolve(JSON.parse(d.toString()).type), ws.close()));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
  });
}

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

  it('runs a shipped graph: ordered events and binary preview frames over the WebSocket, the same to two clients', async () => {
    const watcher = watch();
    const second = watch();
    await Promise.all([watcher.opened, second.opened]);
    const res = await postJson('/runs', { graph: example });
    expect(res.status).toBe(202);
    const { runId } = await res.json();
    await Promise.all([watcher.ended, second.ended]);
    watcher.ws.close();
    second.ws.close();
    const events = watcher.events.filter((e) => e.runId === runId);
    expect(events[0]!.type).toBe('run.queued');
    expect(events[1]!.type).toBe('run.started');
    expect(events.at(-1)!.type).toBe('run.finished');
    expect(second.events.filter((e) => e.runId === runId)).toEqual(events);
    // The run's stored events are the streamed ones but progress ticks.
    expect(await (await api(`/runs/${runId}/events`)).json()).toEqual(events.filter((e) => e.type !== 'node.progress'));

    // Every planned node starts then finishes, once; each after the nodes it reads from.
    const planned = (events[1] as Extract<RunEvent, { type: 'run.started' }>).nodes;
    expect([...planned].sort()).toEqual(example.nodes.map((n: { id: string }) => n.id).sort());
    const at = (type: string, nodeId: string) => events.findIndex((e) => e.type === type && 'nodeId' in e && e.nodeId === nodeId);
    const finished = events.filter((e) => e.type === 'node.finished').map((e) => (e as { nodeId: string }).nodeId);
    expect([...finished].sort()).toEqual([...planned].sort());
    for (const id of planned) {
      expect(at('node.started', id), id).toBeGreaterThan(0);
      expect(at('node.started', id), id).toBeLessThan(at('node.finished', id));
    }
    for (const edge of example.edges as { from: { node: string }; to: { node: string } }[]) {
      expect(at('node.finished', edge.from.node), `${edge.from.node} -> ${edge.to.node}`).toBeLessThan(at('node.started', edge.to.node));
    }

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

  it('validates a graph without running it: problems name node and field', async () => {
    expect(await (await postJson('/validate', example)).json()).toEqual({ ok: true, problems: [] });
    const bad = structuredClone(example);
    bad.nodes[1].params.width = 0;
    bad.edges.push({ from: { node: 'grid', port: 'image' }, to: { node: 'nowhere', port: 'images' } });
    const res = await postJson('/validate', bad);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ok).toBe(false);
    expect(body.problems).toContainEqual(expect.objectContaining({ node: 'resize', field: 'params.width' }));
    expect(body.problems.some((p: { message: string }) => p.message.includes('nowhere'))).toBe(true);
  });

  it('validation reports files missing from the data folder and paths leaving it; a run of unknown targets is refused', async () => {
    const g = graph([
      { id: 'gone', type: 'image/load-images', params: { path: 'holiday' } },
      { id: 'out', type: 'image/load-images', params: { path: '../runs' } },
    ]);
    const body = await (await postJson('/validate', g)).json();
    expect(body.problems).toEqual([
      { node: 'gone', field: 'params.path', message: expect.stringMatching(/"holiday" does not exist on this machine: looked for input\/holiday in the data folder/) },
      { node: 'out', field: 'params.path', message: expect.stringMatching(/leaves its folder/) },
    ]);
    expect(JSON.stringify(body)).not.toContain(dataDir);
    const refused = await postJson('/runs', { graph: example, targets: ['ghost'] });
    expect(refused.status).toBe(400);
    expect((await refused.json()).problems).toEqual([{ field: 'targets[0]', message: 'The run targets a node "ghost" that is not in the graph' }]);
  });

  it('a failed run keeps its error, its log and the outputs of the nodes that finished', async () => {
    const g = graph(
      [
        { id: 'missing', type: 'image/load-images', params: { path: 'no-such-folder' } },
        { id: 'small', type: 'image/resize', params: { width: 32, height: 32 } },
        { id: 'photos', type: 'image/load-images', params: { path: 'samples', limit: 1 } },
        { id: 'thumb', type: 'image/resize', params: { width: 48, height: 32 } },
      ],
      [
        ['missing', 'images', 'small', 'images'],
        ['photos', 'images', 'thumb', 'images'],
      ],
    );
    const runId = await submit(g);
    await server.context.queue.idle();
    const run = await (await api(`/runs/${runId}`)).json();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^Node "missing" \(image\/load-images\) failed: params.path: "no-such-folder" does not exist/);
    expect(run.nodes).toMatchObject({ missing: { state: 'error' }, small: { state: 'skipped' }, photos: { state: 'done' }, thumb: { state: 'done' } });
    const line = { level: 'error', nodeId: 'missing', message: expect.stringMatching(/no-such-folder/) };
    expect(run.logs).toEqual([expect.objectContaining(line)]);
    expect(await (await api(`/runs/${runId}/log`)).json()).toEqual([expect.objectContaining(line)]);

    const thumb = await api(`/runs/${runId}/outputs/thumb/images/0`);
    expect(thumb.status).toBe(200);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(48);
    expect((await api(`/runs/${runId}/outputs/photos/image/0`)).status).toBe(200);
    const skipped = await api(`/runs/${runId}/outputs/small/images/0`);
    expect(skipped.status).toBe(404);
    expect((await skipped.json()).error).toMatch(/Node "small" has no outputs/);

    const list = await (await api('/runs')).json();
    expect(list[0]).toMatchObject({ runId, status: 'failed', logCount: 1, lastError: { nodeId: 'missing', message: expect.stringMatching(/no-such-folder/) } });
  });

  it('keeps the outputs of the last 10 runs in memory; older ones answer 410, a running one 409', async () => {
    const running = await submit(slowGraph(60));
    const early = await api(`/runs/${running}/outputs/s/value/0`);
    expect([early.status, (await early.json()).error]).toEqual([409, `Run "${running}" has not ended yet: its outputs are served once it has`]);
    const ids = [];
    for (let v = 101; v <= 111; v++) ids.push(await submit(graph([{ id: 'c', type: 'test/constant', params: { value: v } }])));
    await server.context.queue.idle();
    const dropped = await api(`/runs/${ids[0]}/outputs/c/value/0`);
    expect(dropped.status).toBe(410);
    expect((await dropped.json()).error).toMatch(/^The outputs of run "[^"]+" were dropped from memory/);
    // The newest run still has its outputs: a number, not an image.
    const kept = await api(`/runs/${ids[10]}/outputs/c/value/0`);
    expect([kept.status, (await kept.json()).error]).toEqual([404, 'No image at c.value[0]']);
  });

  it('runs queued runs one after the other in order (one worker)', async () => {
    const watcher = watch();
    await watcher.opened;
    const first = await submit(slowGraph(20));
    const second = await submit(slowGraph(21));
    await server.context.queue.idle();
    watcher.ws.close();
    const at = (runId: string, f: (e: RunEvent) => boolean) => watcher.events.findIndex((e) => e.runId === runId && f(e));
    expect(at(second, (e) => e.type === 'run.queued')).toBeLessThan(at(first, ended));
    expect(at(first, (e) => e.type === 'run.finished')).toBeGreaterThan(0);
    expect(at(first, ended)).toBeLessThan(at(second, (e) => e.type === 'run.started'));
    const [a, b] = await Promise.all([first, second].map(async (id) => (await api(`/runs/${id}`)).json()));
    expect(b.startedAt).toBeGreaterThanOrEqual(a.finishedAt);
    expect(b.status).toBe('finished');
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
    const quitter = watch();
    await quitter.opened;
    const runId = await submit(slowGraph(2000));
    quitter.ws.terminate();
    const watcher = watch(runId);
    await watcher.opened;
    await new Promise((r) => setTimeout(r, 300));
    expect((await (await api(`/runs/${runId}`)).json()).status).toBe('running');
    expect(await (await postJson(`/runs/${runId}/cancel`, {})).json()).toEqual({ ok: true });
    await watcher.ended;
    watcher.ws.close();
    expect(watcher.events.at(-1)?.type).toBe('run.cancelled');
    expect(watcher.events[0]!.type).toBe('run.queued');
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
    // A fresh data folder has the demo model's two LoRAs (runtime/sample-inputs.ts).
    const loras = await (await api('/models?kind=loras')).json();
    expect(loras.files.map((f: { path: string }) => f.path)).toEqual(['demo-style-blue.safetensors', 'demo-style-sepia.safetensors', 'my-face-lora.safetensors']);
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
    await expect(startServer({ host: '0.0.0.0', port: 0, dataDir: tempDir('server') })).rejects.toThrow(/FACECHAIN_TOKEN/);
  });

  it('checks the token on REST and WebSocket', async () => {
    const s = await startServer({ host: '127.0.0.1', port: 0, token: 's3cret', dataDir: tempDir('server') });
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
      // With a token, the token decides: a page from elsewhere that has it may connect.
      expect(await wsOutcome(`${s.url.replace('http', 'ws')}/ws?token=s3cret`, { origin: 'http://elsewhere.example' })).toBe('hello');
      expect((await rawGet(`${s.url}/api/nodes?token=s3cret`, { host: 'studio.example:7860', origin: 'http://elsewhere.example' })).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('browser pages without a token', () => {
  const ws = () => `${server.url.replace('http', 'ws')}/ws`;
  const port = () => new URL(server.url).port;

  it('REST answers only requests that name this machine as Host (DNS rebinding names another)', async () => {
    for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`, `[::1]:${port()}`, 'localhost', 'LOCALHOST:1234']) {
      expect((await rawGet(`${server.url}/api/health`, { host })).status, host).toBe(200);
    }
    for (const host of ['evil.example', `evil.example:${port()}`, '127.0.0.1.evil.example', '192.168.1.5:7860']) {
      const res = await rawGet(`${server.url}/api/runs`, { host });
      expect(res.status, host).toBe(403);
      expect(JSON.parse(res.body).error, host).toBe(
        `Host "${host}" is not this machine: without a token the server answers only requests to 127.0.0.1, localhost or [::1] (set FACECHAIN_TOKEN to serve other names)`,
      );
    }
  });

  it('REST serves pages from the address it was called at (also a forwarded port or the dev proxy) and refuses other origins', async () => {
    const own: Record<string, string>[] = [
      { origin: `http://127.0.0.1:${port()}` },
      { host: `[::1]:${port()}`, origin: `http://[::1]:${port()}` },
      // `ssh -L 8000:127.0.0.1:7860`, or the editor dev server's proxy: the page and its requests name the same address.
      { host: 'localhost:8000', origin: 'http://localhost:8000' },
      { host: 'localhost:5173', origin: 'http://LOCALHOST:5173' },
    ];
    for (const headers of own) expect((await rawGet(`${server.url}/api/runs`, headers)).status, JSON.stringify(headers)).toBe(200);
    const foreign: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${port()}` },
      { origin: `http://127.0.0.1:${Number(port()) + 1}` },
      { host: 'localhost:8000', origin: 'http://localhost:3000' },
      { origin: 'null' },
    ];
    for (const headers of foreign) {
      const res = await rawGet(`${server.url}/api/runs`, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.body).error).toBe(`Origin "${headers.origin}" is not the address this request was sent to: without a token the server answers only its own pages (set FACECHAIN_TOKEN to allow others)`);
    }
  });

  it('the WebSocket refuses a page from another origin; its own pages and non-browser clients connect', async () => {
    const refused = await wsOutcome(ws(), { origin: 'http://evil.example' });
    expect(refused).toEqual({
      status: 403,
      body: 'Origin "http://evil.example" is not the address this request was sent to: without a token the server answers only its own pages (set FACECHAIN_TOKEN to allow others)',
    });
    expect(await wsOutcome(ws(), { origin: `http://127.0.0.1:${Number(port()) + 1}` })).toMatchObject({ status: 403 });
    expect(await wsOutcome(ws(), { headers: { host: 'evil.example' } })).toMatchObject({ status: 403 });
    expect(await wsOutcome(ws(), { origin: `http://127.0.0.1:${port()}` })).toBe('hello');
    expect(await wsOutcome(ws(), { origin: 'http://localhost:5173', headers: { host: 'localhost:5173' } })).toBe('hello');
    expect(await wsOutcome(ws())).toBe('hello');
  });
});

describe('run history across restarts', () => {
  it('a new server on the same data folder lists earlier runs with their status, nodes, events and whole log', async () => {
    const dataDir = tempDir('server');
    const registry = () => new NodeRegistry([...builtinNodes, ...testNodes(), chatty]);
    const first = await startServer({ port: 0, dataDir, registry: registry() });
    const chattyRun = await submit(graph([{ id: 'talk', type: 'test/chatty', params: { lines: 600 } }]), first.url);
    const failedRun = await submit(failingGraph, first.url);
    const stoppedRun = await submit(slowGraph(2000), first.url);
    await expect.poll(async () => (await (await fetch(`${first.url}/api/runs/${failedRun}`)).json()).status).toBe('failed');
    const failedEvents = await (await fetch(`${first.url}/api/runs/${failedRun}/events`)).json();
    expect(await (await fetch(`${first.url}/api/runs/${failedRun}/graph`)).json()).toEqual(failingGraph);
    // Closing stops the run going and leaves its record as it was: the next server lists it as interrupted.
    await expect.poll(async () => (await (await fetch(`${first.url}/api/runs/${stoppedRun}`)).json()).status).toBe('running');
    await first.close();
    expect(readdirSync(path.join(dataDir, 'runs')).sort()).toEqual([chattyRun, failedRun, stoppedRun].map((id) => `${id}.json`).sort());

    const second = await startServer({ port: 0, dataDir, registry: registry() });
    try {
      const get = async (p: string) => (await fetch(`${second.url}/api${p}`)).json();
      expect(await get('/runs')).toEqual([
        expect.objectContaining({ runId: stoppedRun, status: 'failed', interrupted: 'running', graphName: 'test' }),
        expect.objectContaining({ runId: failedRun, status: 'failed', error: expect.stringMatching(/^Node "bad" \(test\/fail\) failed: deliberate failure/), logCount: 1, lastError: { nodeId: 'bad', message: 'deliberate failure' } }),
        expect.objectContaining({ runId: chattyRun, status: 'finished', logCount: 600 }),
      ]);

      const failed = await get(`/runs/${failedRun}`);
      expect(failed.nodes).toMatchObject({ one: { state: 'done' }, bad: { state: 'error', error: 'deliberate failure' }, after: { state: 'skipped' }, good: { state: 'done' } });
      expect(failed.logs).toEqual([expect.objectContaining({ level: 'error', nodeId: 'bad', message: 'deliberate failure' })]);
      expect(await get(`/runs/${failedRun}/events`)).toEqual(failedEvents);
      // The graph that ran can be opened again, and a WebSocket subscribing to the run gets its events replayed.
      expect(await get(`/runs/${failedRun}/graph`)).toEqual(failingGraph);
      const replayed = await new Promise<unknown[]>((resolve) => {
        const got: unknown[] = [];
        const socket = new WebSocket(`${second.url.replace('http', 'ws')}/ws?runId=${failedRun}`);
        socket.on('message', (d) => {
          got.push(JSON.parse(d.toString()));
          if (got.length === failedEvents.length + 1) resolve(got.slice(1)), socket.close();
        });
      });
      expect(replayed).toEqual(failedEvents);

      // The run view keeps the last 500 lines; the log endpoint has all of them.
      const talk = await get(`/runs/${chattyRun}`);
      expect(talk.logs).toHaveLength(500);
      expect(talk.logs.at(-1).message).toBe('line 600');
      const log = await get(`/runs/${chattyRun}/log`);
      expect(log.map((l: { message: string }) => l.message)).toEqual(Array.from({ length: 600 }, (_, i) => `line ${i + 1}`));

      const output = await fetch(`${second.url}/api/runs/${failedRun}/outputs/good/value/0`);
      expect(output.status).toBe(410);
      expect((await output.json()).error).toMatch(/is no longer held in memory \(it ran in an earlier server process, or many runs ago\): its outputs are gone/);
      expect(await (await fetch(`${second.url}/api/runs/${stoppedRun}/cancel`, { method: 'POST' })).json()).toEqual({ ok: false });

      // A new run is listed first, the earlier ones after it.
      const fresh = await submit(failingGraph, second.url);
      await second.context.queue.idle();
      expect((await get('/runs')).map((r: { runId: string }) => r.runId)).toEqual([fresh, stoppedRun, failedRun, chattyRun]);
    } finally {
      await second.close();
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
    const none = await startServer({ port: 0, cacheBytes: 0, dataDir: tempDir('server'), registry: testRegistry() });
    const dflt = await startServer({ port: 0, dataDir: tempDir('server'), registry: testRegistry() });
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
