import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { modelsCommand } from '../../cli/models.ts';
import { KNOWN_MODELS } from '../../models/known.ts';
import { KnownModels } from '../../models/store/known.ts';
import { tempData } from '../helpers/test-nodes.ts';

function put(file: string, content: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

// sha256('my lora weights')
const LORA_SHA = '0211d43316afa7d893d465f39f8c9d3e7073719192df5139c70e18d24d34703b';

describe('facechain models', () => {
  afterEach(() => vi.restoreAllMocks());

  it('lists each folder, names known files by their cached hash, and hashes new files only with --hash', async () => {
    const data = tempData();
    put(path.join(data.models, 'loras/me.safetensors'), 'my lora weights');
    put(path.join(data.models, 'checkpoints/other.safetensors'), 'x'.repeat(1234));
    put(path.join(data.models, 'checkpoints/sd15-diffusers/model_index.json'), '{}');
    put(path.join(data.models, 'checkpoints/old.ckpt'), 'pickle');
    const known = new KnownModels([
      ...KNOWN_MODELS.all,
      { id: 'test-lora', kind: 'loras', files: [{ path: 'me.safetensors', sha256: LORA_SHA }], sha256: LORA_SHA, source: 'https://example.org/lora', licence: 'MIT', description: 'a test LoRA' },
      { id: 'test-ckpt', kind: 'checkpoints', files: [{ path: 'c.safetensors', sha256: 'e'.repeat(64), size: 1234 }], sha256: 'e'.repeat(64), source: 'https://example.org/ckpt', licence: 'MIT', description: 'a test checkpoint' },
    ]);
    const run = async (flags: { hash?: boolean; json?: boolean }) => {
      let out = '';
      expect(await modelsCommand({ data: data.root, ...flags }, known, (t) => (out += t))).toBe(0);
      return out;
    };
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    const before = await run({});
    expect(before).toMatch(/me\.safetensors +0\.0 MB +no cached hash yet\n/);
    expect(before).toMatch(/other\.safetensors +0\.0 MB +no cached hash yet; same size as test-ckpt/);
    expect(before).toMatch(/sd15-diffusers\/ .* diffusers folder/);
    expect(before).not.toMatch(/old\.ckpt/);
    expect(before).toMatch(/2 file\(s\) have no cached hash yet: `facechain models --hash`/);
    expect(before).toMatch(/blazeface-back +face +Apache-2\.0 +ships in @vladmandic\/human-models/);
    expect(before).toMatch(/sd15-pruned-emaonly +checkpoints +CreativeML Open RAIL-M +not found \(v1-5-pruned-emaonly\.safetensors from https/);

    const hashed = await run({ hash: true });
    expect(hashed).toMatch(/me\.safetensors +0\.0 MB +test-lora: a test LoRA \(MIT\)/);
    expect(hashed).toMatch(/other\.safetensors +0\.0 MB +unknown model, sha256 [0-9a-f]{10}\n/);
    expect(hashed).toMatch(/test-lora +loras +MIT +found: loras\/me\.safetensors/);
    expect(hashed).not.toMatch(/no cached hash/);
    const index = JSON.parse(readFileSync(path.join(data.models, '.sha256.json'), 'utf8'));
    expect(index['loras/me.safetensors'].sha256).toBe(LORA_SHA);

    // The next listing answers from the cache, without --hash.
    const json = JSON.parse(await run({ json: true }));
    expect(json.files).toContainEqual(expect.objectContaining({ folder: 'loras', path: 'me.safetensors', sha256: LORA_SHA, known: 'test-lora' }));
    expect(json.known.find((m: { id: string }) => m.id === 'test-lora').found).toEqual(['loras/me.safetensors']);
  });

  it('is a command of the facechain CLI', async () => {
    const data = tempData();
    put(path.join(data.models, 'face/mine.onnx'), 'onnx');
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((t) => ((out += String(t)), true));
    expect(await main(['models', '--data', data.root])).toBe(0);
    expect(out).toMatch(/^face\/\n {2}mine\.onnx +0\.0 MB +no cached hash yet$/m);
    expect(out).toMatch(/^loras\/ {2}\(empty\)$/m);
  });
});
