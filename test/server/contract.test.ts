// Every REST route's answer, checked against its schema in protocol/api.ts (what the editor parses
// them with): one real server, the shipped image-basics graph run once, each route called.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { API_ANSWERS, ErrorBodySchema, GRAPH_FORMAT, type ApiRoute } from '../../protocol/index.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { componentRoutes } from '../../server/routes/components.ts';
import { graphRoutes } from '../../server/routes/graphs.ts';
import { inputRoutes } from '../../server/routes/inputs.ts';
import { runRoutes } from '../../server/routes/runs.ts';
import { tempDir } from '../helpers/temp.ts';
import example from '../../graphs/image-basics.json' with { type: 'json' };

let server: RunningServer;
const dataDir = tempDir('contract');
const checked = new Set<ApiRoute>();

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, editorDir: false });
});
afterAll(() => server.close());

/** Calls `path` for `route`, expects `status` and checks the answer against the route's schema. */
async function call(route: ApiRoute, urlPath: string, init: RequestInit = {}, status = 200): Promise<unknown> {
  const [method] = route.split(' ');
  const res = await fetch(`${server.url}/api${urlPath}`, { method, ...init });
  const schema = API_ANSWERS[route];
  expect(res.status, `${route}: ${res.status} ${res.ok ? '' : await res.clone().text()}`).toBe(status);
  checked.add(route);
  if (schema === 'binary') {
    expect(res.headers.get('content-type')).toMatch(/^image\//);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    return undefined;
  }
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const parsed = (schema as z.ZodType).safeParse(await res.json());
  expect(parsed.success, `${route}: ${parsed.error?.message}`).toBe(true);
  return parsed.data;
}

const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('REST answers match protocol/api.ts', () => {
  it('the table names every route the server has', () => {
    const routers = [graphRoutes, inputRoutes, runRoutes, componentRoutes].map((make) => make(server.context));
    const served = routers.flatMap((r) =>
      (r.stack as { route?: { path: string; methods: Record<string, boolean> } }[]).flatMap((layer) =>
        layer.route ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`) : [],
      ),
    );
    expect(new Set([...served, 'GET /health'])).toEqual(new Set(Object.keys(API_ANSWERS)));
  });

  it('answers each route with its schema', async () => {
    await call('GET /health', '/health');
    await call('GET /schema/graph', '/schema/graph');
    await call('GET /nodes', '/nodes');
    await call('POST /validate', '/validate', json('POST', example));
    const saved = await call('PUT /graphs/user/:id', '/graphs/user/mine', json('PUT', example));
    expect(saved).toEqual({ id: 'mine', name: example.name });
    const list = (await call('GET /graphs', '/graphs')) as { examples: { id: string }[]; user: { id: string }[] };
    expect(list.user.map((g) => g.id)).toEqual(['mine']);
    await call('GET /graphs/examples/:id', `/graphs/examples/${list.examples[0]!.id}`);
    await call('GET /graphs/user/:id', '/graphs/user/mine');
    await call('DELETE /graphs/user/:id', '/graphs/user/mine');

    const png = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#804020' } }).png().toBuffer();
    const upload = (await call('POST /uploads', '/uploads?name=a.png', { method: 'POST', body: png }, 201)) as { path: string };
    const inputs = (await call('GET /inputs', '/inputs')) as { entries: { path: string }[] };
    expect(inputs.entries.map((e) => e.path)).toContain(upload.path);
    await call('GET /inputs/thumbnail', `/inputs/thumbnail?path=${encodeURIComponent(upload.path)}&size=32`);
    await call('GET /models', '/models?kind=checkpoints');

    const { runId } = (await call('POST /runs', '/runs', json('POST', { graph: example }), 202)) as { runId: string };
    await server.context.queue.idle();
    const detail = (await call('GET /runs/:runId', `/runs/${runId}`)) as { status: string; nodes: Record<string, { images?: Record<string, number> }> };
    expect(detail.status).toBe('finished');
    expect(detail.nodes.resize?.images).toEqual({ images: 6 });
    await call('GET /runs', '/runs');
    await call('GET /runs/:runId/events', `/runs/${runId}/events`);
    await call('GET /runs/:runId/log', `/runs/${runId}/log`);
    const graph = (await call('GET /runs/:runId/graph', `/runs/${runId}/graph`)) as { format: string };
    expect(graph.format).toBe(GRAPH_FORMAT);
    await call('POST /runs/:runId/cancel', `/runs/${runId}/cancel`, { method: 'POST' });
    // A run that was not interrupted cannot be queued again (test/server/queue-* cover the 202 answer).
    const requeue = await fetch(`${server.url}/api/runs/${runId}/requeue`, { method: 'POST' });
    expect(requeue.status).toBe(409);
    expect(ErrorBodySchema.safeParse(await requeue.json()).success).toBe(true);
    checked.add('POST /runs/:runId/requeue');
    await call('GET /runs/:runId/outputs/:nodeId/:port/:index', `/runs/${runId}/outputs/resize/images/0`);
    const [file] = readdirSync(path.join(dataDir, 'output')).filter((f) => f.endsWith('.png'));
    await call('GET /files/:id', `/files/${file}`);

    const sweep = { ...example, meta: { ...example.meta, sweep: { name: 'contract', axes: [{ node: 'resize', param: 'width', values: [24, 32] }] } } };
    await call('POST /runs', '/runs', json('POST', { graph: sweep }), 202);
    await server.context.queue.idle();
    await call('GET /sweeps/:name/:file', '/sweeps/contract/grid.png');

    const component = { name: 'Resize', nodes: [], edges: [], inputs: {}, outputs: {}, params: {} };
    await call('PUT /components/:id', '/components/resize', json('PUT', { component, components: {} }));
    const library = (await call('GET /components', '/components')) as { id: string; version?: number }[];
    expect(library).toEqual([{ id: 'resize', name: 'Resize', version: 1 }]);
    await call('GET /components/:id', '/components/resize');

    expect([...checked].sort()).toEqual(Object.keys(API_ANSWERS).sort());
  });

  it('answers errors as ErrorBody', async () => {
    for (const [p, init] of [['/runs/nope', {}], ['/graphs/user/a%20b', {}], ['/runs', json('POST', { graph: { format: GRAPH_FORMAT, version: 1, nodes: [{ id: 'x', type: 'no/such' }] } })], ['/nowhere', {}]] as const) {
      const res = await fetch(`${server.url}/api${p}`, init);
      expect(res.status).toBeGreaterThanOrEqual(400);
      const parsed = ErrorBodySchema.safeParse(await res.json());
      expect(parsed.success, `${p}: ${parsed.error?.message}`).toBe(true);
    }
  });
});
