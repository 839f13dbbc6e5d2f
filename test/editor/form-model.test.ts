import { describe, expect, it } from 'vitest';
import {
  checkValue,
  defaultParams,
  fieldValue,
  formModel,
  formatNumberList,
  humanize,
  parseNumberList,
  randomSeed,
  snapToStep,
  type Field,
} from '../../editor/src/core/form-model.ts';
import { catalogIndex, realCatalog, sampleNode } from './helpers.ts';

const byKey = (fields: Field[]) => Object.fromEntries(fields.map((f) => [f.key, f]));

describe('catalog -> form model', () => {
  const fields = byKey(formModel(sampleNode().params));

  it('picks a widget per param from type and ui hint', () => {
    expect(Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.kind]))).toEqual({
      prompt: 'text',
      seed: 'seed',
      steps: 'number',
      strength: 'number',
      scale: 'number',
      sampler: 'select',
      tiled: 'checkbox',
      tint: 'colour',
      photo: 'input-path',
      lora: 'model',
      blocks: 'number-list',
      note: 'text',
      clipSkip: 'select',
      size: 'number',
    });
  });

  it('carries bounds, steps, defaults and descriptions', () => {
    expect(fields.steps).toMatchObject({ integer: true, min: 1, max: 150, step: 1, slider: true, default: 30, label: 'Steps' });
    expect(fields.strength).toMatchObject({ integer: false, min: 0, max: 1, step: 0.05, slider: true });
    expect(fields.scale).toMatchObject({ min: 0, max: undefined, slider: false, exclusive: { min: true, max: false } });
    expect(fields.prompt).toMatchObject({ kind: 'text', multiline: true, description: 'What to draw', default: 'a portrait' });
    expect(fields.sampler).toMatchObject({ options: ['euler', 'ddim'], default: 'euler' });
    expect(fields.lora).toMatchObject({ modelKind: 'loras', builtin: ['none-needed'] });
    expect(fields.seed).toMatchObject({ max: 2 ** 32 - 1, default: 42 });
    expect(fields.blocks).toMatchObject({ default: [1, 1, 0.5], maxItems: 64 });
    expect(fields.note).toMatchObject({ required: false, default: undefined });
    expect(fields.clipSkip).toMatchObject({ options: [1, 2], default: 1 });
    expect(fields.size).toMatchObject({ step: 64, multipleOf: 8, slider: true });
  });

  it('builds forms for every shipped node type, each param with its own widget (no raw JSON box)', () => {
    const nodes = realCatalog().nodes;
    // The loop covers every family of shipped nodes (the registry the server serves, not a sample).
    expect(new Set(nodes.map((n) => n.type.split('/')[0]))).toEqual(new Set(['face', 'image', 'lora', 'score', 'sd', 'tag', 'train']));
    for (const node of nodes) {
      const form = formModel(node.params);
      const json = form.filter((f) => f.kind === 'json').map((f) => `${node.type}.${f.key}`);
      expect(json, node.type).toEqual([]);
      expect(form.map((f) => f.key), node.type).toEqual(Object.keys((node.params.properties ?? {}) as object));
    }
  });

  it('reads the shipped image nodes the way their params are declared', () => {
    const index = catalogIndex();
    const resize = byKey(index.fields('image/resize'));
    expect(resize.width).toMatchObject({ kind: 'number', step: 8, min: 1, max: 8192, slider: true });
    expect(resize.fit).toMatchObject({ kind: 'select', options: ['cover', 'contain', 'fill', 'inside'] });
    expect(resize.background!.kind).toBe('colour');
    const load = byKey(index.fields('image/load-images'));
    expect(load.path!.kind).toBe('input-path');
    expect(load.applyExif).toMatchObject({ kind: 'checkbox', label: 'Apply exif', default: true });
    // Crop offsets range over 65k pixels: a number box, no slider.
    expect(byKey(index.fields('image/crop')).left).toMatchObject({ kind: 'number', slider: false });
  });

  it('writes every default for a new node and shows defaults for missing params', () => {
    const list = formModel(sampleNode().params);
    const defaults = defaultParams(list);
    expect(defaults).toMatchObject({ steps: 30, sampler: 'euler', blocks: [1, 1, 0.5], tint: '#ff8800' });
    expect('note' in defaults).toBe(false);
    expect(fieldValue(fields.steps!, {})).toBe(30);
    expect(fieldValue(fields.steps!, { steps: 12 })).toBe(12);
  });

  it('checks values the way the server would', () => {
    expect(checkValue(fields.steps!, 0)).toBe('Must be at least 1');
    expect(checkValue(fields.steps!, 2.5)).toBe('Must be a whole number');
    expect(checkValue(fields.steps!, 20)).toBeUndefined();
    expect(checkValue(fields.scale!, 0)).toBe('Must be more than 0');
    expect(checkValue(fields.tint!, 'red')).toMatch(/colour/);
    expect(checkValue(fields.sampler!, 'plms')).toMatch(/euler, ddim/);
    expect(checkValue(fields.blocks!, [1, 'x'])).toBe('Item 2: Must be a number');
    expect(checkValue(fields.seed!, 2 ** 32)).toMatch(/at most/);
    expect(checkValue(fields.size!, 516)).toBe('Must be a multiple of 8');
    expect(checkValue(fields.size!, 520)).toBeUndefined();
    expect(checkValue(fields.clipSkip!, 2)).toBeUndefined();
  });

  it('parses and formats number lists, snaps to steps, randomises seeds in range', () => {
    expect(parseNumberList('1, 0.5 0 ,1')).toEqual({ ok: true, value: [1, 0.5, 0, 1] });
    expect(parseNumberList('1, x')).toEqual({ ok: false, error: '"x" is not a number' });
    expect(formatNumberList([1, 0.25])).toBe('1, 0.25');
    expect(snapToStep(0.30000000000000004, 0.05)).toBe(0.3);
    expect(snapToStep(515, 8, 1)).toBe(513);
    expect(randomSeed(10, () => 0.999999)).toBe(10);
    expect(randomSeed(10, () => 0)).toBe(0);
    expect(humanize('lora_scale')).toBe('Lora scale');
  });
});
