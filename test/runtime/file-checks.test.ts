import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../nodes/index.ts';
import { fileChecks } from '../../runtime/file-checks.ts';
import { checkGraph } from '../../runtime/validate.ts';
import { graph, tempData } from '../helpers/test-nodes.ts';

const registry = createRegistry();

describe('validation on this machine: files the graph names', () => {
  it('reports escapes, missing inputs and models, and unchosen files, each with node and field, beside the structural problems', () => {
    const data = tempData();
    mkdirSync(path.join(data.input, 'mine'));
    writeFileSync(path.join(data.input, 'mine', 'a.png'), '');
    mkdirSync(path.join(data.models, 'loras'), { recursive: true });
    writeFileSync(path.join(data.models, 'loras', 'here.safetensors'), '');
    symlinkSync('/etc', path.join(data.input, 'out'));
    const doc = graph([
      { id: 'ok', type: 'image/load-images', params: { path: 'mine' } },
      { id: 'escape', type: 'image/load-images', params: { path: '../../etc' } },
      { id: 'link', type: 'image/load-images', params: { path: 'out/passwd' } },
      { id: 'gone', type: 'image/load-images', params: { path: 'holiday' } },
      { id: 'loraOk', type: 'lora/load', params: { file: 'here.safetensors' } },
      { id: 'loraGone', type: 'lora/load', params: { file: 'my-face-lora.safetensors' } },
      { id: 'loraNone', type: 'lora/load' },
      { id: 'tiny', type: 'sd/load-checkpoint' },
      { id: 'ckpt', type: 'sd/load-checkpoint', params: { checkpoint: 'v1-5.safetensors' } },
      { id: 'small', type: 'image/resize', params: { width: 0 } },
    ]);
    const r = checkGraph(doc, registry, { checkNode: fileChecks(data) });
    const found = r.ok ? [] : r.problems;
    expect(found.map((p) => `${p.node}:${p.field}`).sort()).toEqual([
      'ckpt:params.checkpoint',
      'escape:params.path',
      'gone:params.path',
      'link:params.path',
      'loraGone:params.file',
      'loraNone:params.file',
      'small:inputs.images',
      'small:params.width',
    ]);
    const message = (node: string) => found.find((p) => p.node === node)!.message;
    expect(message('escape')).toMatch(/leaves its folder/);
    expect(message('link')).toMatch(/leaves its folder/);
    expect(message('gone')).toBe(
      `"holiday" does not exist on this machine: looked for input/holiday in the data folder; put the photos there (or upload them), or pick another in the node's "path" field`,
    );
    expect(message('loraGone')).toMatch(/looked for models\/loras\/my-face-lora.safetensors in the data folder; put the file there, or pick another in the node's "file" field/);
    expect(message('ckpt')).toMatch(/looked for models\/checkpoints\/v1-5.safetensors/);
    expect(message('loraNone')).toMatch(/No file chosen: pick one from models\/loras\//);
    // No path of the machine in what a client is told.
    for (const p of found) expect(p.message).not.toContain(data.root);
  });

  it('a graph whose files are all there is valid; without the machine step the same graph is only checked for its structure', () => {
    const data = tempData();
    const doc = graph([{ id: 'load', type: 'image/load-images', params: { path: 'nowhere' } }]);
    expect(checkGraph(doc, registry).ok).toBe(true);
    expect(checkGraph(doc, registry, { checkNode: fileChecks(data) }).ok).toBe(false);
    mkdirSync(path.join(data.input, 'nowhere'));
    expect(checkGraph(doc, registry, { checkNode: fileChecks(data) }).ok).toBe(true);
  });
});
