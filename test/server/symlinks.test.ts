import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../cli/run.ts';
import { loadDiffusersFolder } from '../../models/sd/load-model.ts';
import { readSafetensors, writeSafetensors } from '../../models/safetensors.ts';
import { PathEscapeError } from '../../runtime/data-folder.ts';
import { openInside, readInside, writeInside } from '../../runtime/safe-open.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { expectCleanError } from '../helpers/clean-answer.ts';
import { graph, testRegistry } from '../helpers/test-nodes.ts';

// Attack: symlinks placed inside the data folder that lead out of it. Each must be refused when the file
// is opened, and the file outside must stay unread (its bytes in no answer, no output file) and untouched.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fc-links-'));
const outside = mkdtempSync(path.join(os.tmpdir(), 'fc-outside-'));
const secretJpg = path.join(outside, 'outside.jpg');
const secretText = path.join(outside, 'secret.txt');
const SECRET = 'root:x:0:0:the secret outside the data folder\n';
let server: RunningServer;
const api = (p: string, init?: RequestInit) => fetch(`${server.url}/api${p}`, init);
const outputs = () => readdirSync(path.join(dataDir, 'output'));
const loadAndSave = (p: string) =>
  graph([{ id: 'load', type: 'image/load-images', params: { path: p } }, { id: 'save', type: 'image/save-images' }], [['load', 'images', 'save', 'images']]);

beforeAll(async () => {
  server = await startServer({ port: 0, dataDir, registry: testRegistry() });
  const input = path.join(dataDir, 'input');
  copyFileSync(path.join(input, 'samples', 'sample1.jpg'), secretJpg);
  writeFileSync(secretText, SECRET);
  mkdirSync(path.join(input, 'mixed'));
  copyFileSync(path.join(input, 'samples', 'sample2.jpg'), path.join(input, 'mixed', 'a.jpg'));
  symlinkSync(secretJpg, path.join(input, 'mixed', 'secret.jpg'));
  symlinkSync('/etc/passwd', path.join(input, 'passwd.png'));
  symlinkSync(secretText, path.join(dataDir, 'graphs', 'evil.json'));
  symlinkSync(secretJpg, path.join(dataDir, 'output', 'leak-0000.png'));
});
afterAll(async () => {
  await server.close();
  for (const dir of [dataDir, outside]) rmSync(dir, { recursive: true, force: true });
});

const untouched = () => {
  expect(readFileSync(secretText, 'utf8')).toBe(SECRET);
  expect(readFileSync(secretJpg)).toEqual(readFileSync(path.join(dataDir, 'input', 'samples', 'sample1.jpg')));
};

describe('symlinks leading out of the data folder', () => {
  it('(a) a load node refuses a link in the folder it lists, and a link given as its path; nothing is saved', async () => {
    const before = outputs();
    for (const [p, file] of [['mixed', 'mixed/secret.jpg'], ['passwd.png', 'passwd.png']]) {
      const res = await api('/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: loadAndSave(p!) }) });
      const { runId } = await res.json();
      await server.context.queue.idle();
      const run = await (await api(`/runs/${runId}`)).json();
      expect(run.status, p).toBe('failed');
      expect(run.nodes.load.error, p).toContain(`"${file}"`);
      expect(run.nodes.load.error, p).toMatch(/leaves its folder/);
      expect(JSON.stringify(run)).not.toContain(outside);
    }
    expect(outputs()).toEqual(before);
    const thumb = await expectCleanError(await api('/inputs/thumbnail?path=mixed/secret.jpg'), 400);
    expect(thumb.error).toMatch(/leaves its folder/);
    untouched();
  });

  it('(a) the CLI refuses them too', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'fc-links-out-'));
    const file = path.join(out, 'graph.json');
    writeFileSync(file, JSON.stringify(loadAndSave('mixed')));
    try {
      expect(await runCommand(file, { data: dataDir, out: path.join(out, 'png'), quiet: true })).toBe(1);
      expect(readdirSync(path.join(out, 'png'))).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    untouched();
  });

  it('(b) a saved graph or an output file that is a link leading out is not served', async () => {
    const graphRes = await expectCleanError(await api('/graphs/user/evil'), 422);
    expect(graphRes.error).toMatch(/leaves its folder/);
    const list = await (await api('/graphs')).json();
    expect(list.user.find((g: { id: string }) => g.id === 'evil')).toMatchObject({ problem: expect.stringMatching(/leaves its folder/) });
    expect(JSON.stringify(list)).not.toContain('root:x');
    const file = await expectCleanError(await api('/files/leak-0000.png'), 400);
    expect(file.error).toMatch(/leaves its folder/);
    untouched();
  });

  it('(c) saving a graph never writes through a link: not a planted temporary file, not the target itself', async () => {
    const graphs = path.join(dataDir, 'graphs');
    // Every name an older build used for its temporary file, and a few pid-shaped ones.
    for (const tmp of ['mine.json.tmp', `mine.json.${process.pid}.tmp`]) symlinkSync(secretText, path.join(graphs, tmp));
    const doc = graph([{ id: 'a', type: 'test/constant' }]);
    const put = (id: string) => api(`/graphs/user/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    expect((await put('mine')).status).toBe(200);
    expect(statSync(path.join(graphs, 'mine.json')).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(path.join(graphs, 'mine.json'), 'utf8')).nodes[0].id).toBe('a');
    symlinkSync(secretText, path.join(graphs, 'target.json'));
    expect((await expectCleanError(await put('target'), 400)).error).toMatch(/leaves its folder/);
    untouched();
  });

  it('(a) a diffusers checkpoint folder with a weights file linked from outside is refused before it is read', async () => {
    const models = path.join(dataDir, 'models');
    const folder = path.join(models, 'checkpoints', 'linked-diffusers');
    for (const part of ['unet', 'text_encoder', 'vae']) mkdirSync(path.join(folder, part), { recursive: true });
    writeFileSync(path.join(folder, 'model_index.json'), '{}');
    symlinkSync(secretText, path.join(folder, 'unet', 'diffusion_pytorch_model.safetensors'));
    await expect(loadDiffusersFolder(folder, models)).rejects.toThrow(/"unet\/diffusion_pytorch_model.safetensors" leaves its folder/);
    untouched();
  });

  it('(c) model files (LoRAs, checkpoints) are never written through a link planted at the old temporary name', async () => {
    const loras = path.join(dataDir, 'models', 'loras');
    mkdirSync(loras, { recursive: true });
    const file = path.join(loras, 'face.safetensors');
    symlinkSync(secretText, `${file}.tmp`);
    await writeSafetensors(file, { w: { dtype: 'float32', dims: [2], data: new Float32Array([1, 2]) } });
    expect([...(await readSafetensors(file)).tensors.get('w')!.data]).toEqual([1, 2]);
    untouched();
  });

  it('an upload folder that is a link leading out gets no upload', async () => {
    const uploads = path.join(dataDir, 'input', 'uploads');
    rmSync(uploads, { recursive: true, force: true });
    symlinkSync(outside, uploads);
    try {
      const png = readFileSync(path.join(dataDir, 'input', 'samples', 'sample3.jpg'));
      expect((await expectCleanError(await api('/uploads', { method: 'POST', body: png }), 400)).error).toMatch(/leaves its folder/);
      expect(readdirSync(outside).sort()).toEqual(['outside.jpg', 'secret.txt']);
    } finally {
      rmSync(uploads);
    }
    untouched();
  });

  it('the safe-open module: reads only regular files inside, creates only new files, never through a link', async () => {
    const base = path.join(dataDir, 'input');
    await expect(readInside(base, 'mixed/secret.jpg')).rejects.toThrow(PathEscapeError);
    await expect(readInside(base, 'mixed')).rejects.toMatchObject({ code: 'EISDIR' });
    expect((await readInside(base, 'mixed/a.jpg')).length).toBeGreaterThan(1000);
    // A link that stays inside the folder is fine to read.
    symlinkSync('a.jpg', path.join(base, 'mixed', 'inner.jpg'));
    expect(await readInside(base, 'mixed/inner.jpg')).toEqual(await readInside(base, 'mixed/a.jpg'));
    // A link inside, even to a file inside, is never opened for writing, nor an existing file.
    expect(() => openInside(base, 'mixed/inner.jpg', 'create')).toThrow(PathEscapeError);
    expect(() => openInside(base, 'mixed/a.jpg', 'create')).toThrow(PathEscapeError);
    await writeInside(base, 'mixed/inner.jpg', 'replaced the link');
    expect(readFileSync(path.join(base, 'mixed', 'inner.jpg'), 'utf8')).toBe('replaced the link');
    expect((await readInside(base, 'mixed/a.jpg')).length).toBeGreaterThan(1000);
    expect(readdirSync(path.join(base, 'mixed')).sort()).toEqual(['a.jpg', 'inner.jpg', 'secret.jpg']);
    untouched();
  });
});
