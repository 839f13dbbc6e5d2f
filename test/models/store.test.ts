import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertedKey, ensureConverted } from '../../models/store/converted.ts';
import { kindFolder, listModels, resolveModel } from '../../models/store/folders.ts';
import { HashIndex, sha256File } from '../../models/store/hash.ts';
import { KnownModelSchema } from '../../models/store/known.ts';
import { tempData } from '../helpers/test-nodes.ts';

function put(file: string, content: string | Buffer = 'x') {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

describe('model store', () => {
  it('lists the models of a kind: safetensors in subfolders, diffusers folders whole, no pickles or helpers', () => {
    const { models } = tempData();
    const ck = path.join(models, 'checkpoints');
    put(path.join(ck, 'b.safetensors'), 'abc');
    put(path.join(ck, 'sub/a.safetensors'));
    put(path.join(ck, 'old.ckpt'));
    put(path.join(ck, 'tokenizer/vocab.json'));
    put(path.join(ck, '.hidden.safetensors'));
    put(path.join(ck, 'sd15-diffusers/model_index.json'), '{}');
    put(path.join(ck, 'sd15-diffusers/unet/diffusion_pytorch_model.safetensors'), '12345');
    put(path.join(models, 'loras/me.safetensors'));
    expect(listModels(models, 'checkpoints')).toEqual([
      { path: 'b.safetensors', size: 3, kind: 'file' },
      { path: 'sd15-diffusers', size: 7, kind: 'folder' },
      { path: 'sub/a.safetensors', size: 1, kind: 'file' },
    ]);
    expect(listModels(models, 'loras').map((m) => m.path)).toEqual(['me.safetensors']);
    expect(listModels(models, 'embeddings')).toEqual([]);
    expect(() => kindFolder(models, 'secrets')).toThrow(/Unknown model kind "secrets"/);
  });

  it('resolves user paths only inside the kind folder', () => {
    const { models } = tempData();
    put(path.join(models, 'loras/me.safetensors'));
    expect(resolveModel(models, 'loras', 'me.safetensors')).toBe(path.join(models, 'loras/me.safetensors'));
    expect(() => resolveModel(models, 'loras', '../checkpoints/x.safetensors')).toThrow(/leaves its folder/);
    expect(() => resolveModel(models, 'loras', '/etc/passwd')).toThrow(/not a plain relative path/);
    expect(() => resolveModel(models, 'vae', 'v.safetensors')).toThrow(/data\/models\/vae does not exist/);
  });

  it('hashes files streamed and remembers them by size and mtime', async () => {
    const { models } = tempData();
    const file = path.join(models, 'checkpoints/m.safetensors');
    put(file, 'abc');
    const mtime = new Date(2026, 0, 1); // whole milliseconds, so the test can set it back exactly
    utimesSync(file, mtime, mtime);
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await sha256File(file)).toBe(abc);
    const index = new HashIndex(models);
    expect(await index.cached(file)).toBeUndefined();
    expect(await index.sha256(file)).toBe(abc);
    expect(await index.cached(file)).toBe(abc);
    expect(JSON.parse(readFileSync(index.file, 'utf8'))).toEqual({ 'checkpoints/m.safetensors': expect.objectContaining({ size: 3, sha256: abc }) });
    // Same size and mtime: the index answers without reading (even in a new process, here a new index).
    writeFileSync(file, 'abd');
    utimesSync(file, mtime, mtime);
    expect(await new HashIndex(models).sha256(file)).toBe(abc);
    // A new mtime: hashed again.
    utimesSync(file, mtime, new Date(mtime.getTime() + 2000));
    expect(await new HashIndex(models).cached(file)).toBeUndefined();
    expect(await new HashIndex(models).sha256(file)).not.toBe(abc);
    // A damaged index costs only a rehash.
    writeFileSync(index.file, '{not json');
    expect(await new HashIndex(models).sha256(file)).toBe(await sha256File(file));
  });

  it('hashes a file of several read chunks, the last one partial, as one buffer hashes', async () => {
    const { models } = tempData();
    const file = path.join(models, 'checkpoints/big.safetensors');
    const bytes = Buffer.alloc((17 << 20) + 5);
    for (let i = 0; i < bytes.length; i += 4093) bytes[i] = i % 251;
    put(file, bytes);
    expect(await sha256File(file)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('keys converted builds by source hash and config, builds each once, atomically', async () => {
    const { models } = tempData();
    const sha = 'a'.repeat(64);
    const key = convertedKey(sha, { a: 1, b: [1, 2] });
    expect(convertedKey(sha, { b: [1, 2], a: 1 })).toBe(key);
    expect(convertedKey(sha, { a: 2, b: [1, 2] })).not.toBe(key);
    expect(convertedKey('b'.repeat(64), { a: 1, b: [1, 2] })).not.toBe(key);
    let builds = 0;
    const build = async (dir: string) => {
      builds++;
      await writeFile(path.join(dir, 'model.onnx'), 'graph');
    };
    const [d1, d2] = await Promise.all([ensureConverted(models, key, build), ensureConverted(models, key, build)]);
    expect(d1).toBe(path.join(models, 'converted', key));
    expect(d2).toBe(d1);
    expect(await ensureConverted(models, key, build)).toBe(d1);
    expect(builds).toBe(1);
    expect(readFileSync(path.join(d1, 'model.onnx'), 'utf8')).toBe('graph');
    // A failed build leaves neither the folder nor its temporary copy.
    const other = convertedKey(sha, { a: 3 });
    await expect(ensureConverted(models, other, async (dir) => {
      await writeFile(path.join(dir, 'half.onnx'), 'x');
      throw new Error('out of memory');
    })).rejects.toThrow('out of memory');
    expect(readdirSync(path.join(models, 'converted'))).toEqual([key]);
  });

  it('describes known models with checked hashes', () => {
    const sha = 'c'.repeat(64);
    const model = {
      id: 'sd15', kind: 'checkpoints', files: [{ path: 'v1-5.safetensors', sha256: sha }], sha256: sha,
      source: 'https://example.org/sd15', licence: 'CreativeML Open RAIL-M', description: 'Stable Diffusion 1.5',
    };
    expect(KnownModelSchema.parse(model)).toEqual(model);
    expect(KnownModelSchema.safeParse({ ...model, sha256: 'd'.repeat(64) }).success).toBe(false);
    expect(KnownModelSchema.safeParse({ ...model, kind: 'weights' }).success).toBe(false);
    expect(KnownModelSchema.safeParse({ ...model, files: [{ path: 'x', sha256: 'XYZ' }] }).success).toBe(false);
  });
});
