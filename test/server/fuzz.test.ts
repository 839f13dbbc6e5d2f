import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';

// Bounded, seeded fuzzing (FUZZ_SEED=n picks another seed) of what clients send: mutated graph JSON at /api/validate and /api/runs,
// mutated image bytes at /api/uploads, mangled ids in URLs. Every answer must be a success or a 4xx
// with a message, never a 500, never a machine path or a stack; the server must answer at the end.
const SEED = Number(process.env.FUZZ_SEED) || 20261202;
const ROOT = path.resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-fuzz-'));
let server: RunningServer;

/** mulberry32: a tiny seeded PRNG, so a failing case can be replayed from its seed and index. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(list: readonly T[]): T => list[int(list.length)]! };
}
type Rng = ReturnType<typeof prng>;

const STRANGE = [null, true, -1, 0, 1e308, -1e-308, 2 ** 53 + 1, '', 'x'.repeat(5000), '__proto__', 'constructor', '..', '💥', '\u0000', [], {}, [[[[1]]]], { __proto__: { polluted: 1 } }, 'image/resize', 'IMAGES'];

/** Nested value `depth` levels deep. */
const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

/** One random edit somewhere in a JSON value: replace, delete, duplicate, add a key, nest deep. */
function mutate(rng: Rng, value: unknown): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, at: (string | number)[]) => {
    paths.push(at);
    // Not into the deep nests an earlier edit made: the edits stay near the graph's own levels.
    if (v && typeof v === 'object' && at.length < 8) for (const [k, c] of Object.entries(v)) walk(c, [...at, Array.isArray(v) ? Number(k) : k]);
  };
  walk(value, []);
  const at = rng.pick(paths);
  const doc = structuredClone(value) as Record<string | number, unknown>;
  if (!at.length) return rng.pick(STRANGE);
  const parent = at.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, doc);
  const key = at.at(-1)!;
  switch (rng.int(5)) {
    case 0:
      parent[key] = rng.pick(STRANGE);
      break;
    case 1:
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 2:
      if (Array.isArray(parent)) parent.push(structuredClone(parent[key]));
      else parent[`${key}${rng.int(3)}`] = structuredClone(parent[key]);
      break;
    case 3:
      parent[key] = nested(rng.pick([5, 99, 101, 1000]));
      break;
    default:
      if (typeof parent[key] === 'number') parent[key] = (parent[key] as number) * rng.pick([-1, 1000, 0.5, 1e9]);
      else if (typeof parent[key] === 'string') parent[key] = `${parent[key]}${rng.pick(['-', '/x', '.', ' ', '%'])}`;
      else parent[key] = rng.pick(STRANGE);
  }
  return doc;
}

/** The body as text: mostly JSON, sometimes cut short or with a byte changed. */
function serialize(rng: Rng, value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  const r = rng.int(10);
  if (r === 0) return text.slice(0, rng.int(text.length));
  if (r === 1) {
    const i = rng.int(text.length);
    return `${text.slice(0, i)}${rng.pick(['"', '{', ']', '\\', ',', '\u0000'])}${text.slice(i + 1)}`;
  }
  return text;
}

/** Image bytes with random damage: flipped bytes, cut, a huge size in the header, random tails. */
function damage(rng: Rng, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  switch (rng.int(5)) {
    case 0:
      for (let i = 0, n = 1 + rng.int(8); i < n; i++) out[rng.int(out.length)] = rng.int(256);
      return out;
    case 1:
      return out.subarray(0, rng.int(out.length));
    case 2:
      // PNG IHDR width/height, JPEG/WebP header area: a huge or zero size.
      out.writeUInt32BE(rng.pick([0, 0xffff, 0x7fffffff, 100_000]), Math.min(out.length - 4, 16 + 4 * rng.int(2)));
      return out;
    case 3:
      return Buffer.concat([out, Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)))]);
    default:
      return Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
  }
}

const LEAKS = [dataDir, ROOT, os.tmpdir() + path.sep, 'node_modules', '\n    at '];
const answers: { what: string; status: number; text: string }[] = [];

async function send(what: string, url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  answers.push({ what, status: res.status, text: await res.text() });
}

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, registry: testRegistry() });
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('fuzz', () => {
  it(`seed ${SEED}: mutated graphs, images and ids never get a 500, a path or a stack`, { timeout: 120_000 }, async () => {
    const rng = prng(SEED);
    const seeds = [
      graph([{ id: 'a', type: 'test/constant', params: { value: 2 } }, { id: 'b', type: 'test/add', params: { offset: 1 } }], [['a', 'value', 'b', 'a']]),
      JSON.parse(readFileSync(path.join(ROOT, 'graphs/image-basics.json'), 'utf8')),
    ];
    const api = `${server.url}/api`;
    for (let i = 0; i < 160; i++) {
      let doc: unknown = rng.pick(seeds);
      for (let n = 1 + rng.int(3); n > 0; n--) doc = mutate(rng, doc);
      const route = rng.pick(['/validate', '/runs']);
      const body = route === '/runs' && rng.int(4) ? { graph: doc } : doc;
      let text: string | Uint8Array<ArrayBuffer> = serialize(rng, body);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (rng.int(8) === 0) ((headers['content-encoding'] = 'gzip'), (text = rng.int(2) ? gzipSync(text) : text));
      await send(`graph #${i} ${route}`, `${api}${route}`, { method: 'POST', headers, body: text });
    }
    const images = await Promise.all([
      sharp({ create: { width: 16, height: 12, channels: 3, background: '#c04020' } }).png().toBuffer(),
      sharp({ create: { width: 16, height: 12, channels: 3, background: '#2040c0' } }).jpeg().toBuffer(),
      sharp({ create: { width: 16, height: 12, channels: 4, background: '#20c040' } }).webp().toBuffer(),
    ]);
    for (let i = 0; i < 100; i++) await send(`image #${i}`, `${api}/uploads`, { method: 'POST', body: new Uint8Array(damage(rng, rng.pick(images))) });
    for (let i = 0; i < 60; i++) {
      const id = rng.pick(['%E0%A4%A', '..%2F..', '%00', 'x'.repeat(300), '%2Fetc%2Fpasswd.png', 'a.png', '💥', '%']) + rng.pick(['', '.png', '.json']);
      const route = rng.pick([`/runs/${id}`, `/runs/${id}/log`, `/files/${id}`, `/graphs/user/${id}`, `/inputs/thumbnail?path=${id}`, `/runs/${id}/outputs/a/b/${id}`]);
      await send(`url #${i} ${route}`, `${api}${route}`);
    }

    if (process.env.FUZZ_SEED) {
      const counts = new Map<string, number>();
      for (const a of answers) counts.set(`${a.what.split(' ')[0]} ${a.status}`, (counts.get(`${a.what.split(' ')[0]} ${a.status}`) ?? 0) + 1);
      console.log(JSON.stringify([...counts]));
    }
    for (const { what, status, text } of answers) {
      expect(status, `${what}: ${text}`).toBeLessThan(500);
      for (const leak of LEAKS) expect(text, `${what} leaks ${leak}`).not.toContain(leak);
      if (status >= 400) expect(JSON.parse(text).error, `${what}: ${text}`).toMatch(/\w/);
    }
    // Both kinds of answer happened: the fuzz reaches past the first check and gets refused too.
    const statuses = new Set(answers.map((a) => a.status));
    expect(statuses).toContain(400);
    expect([...statuses].some((s) => s < 300)).toBe(true);

    for (const run of server.context.queue.list()) server.context.queue.cancel(run.state.runId);
    await server.context.queue.idle();
    expect((await fetch(`${api}/health`)).status).toBe(200);
  });
});
