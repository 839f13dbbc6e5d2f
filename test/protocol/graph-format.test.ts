import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphFormatError, graphJsonSchema, migrate, compatibility } from '../../protocol/index.ts';
import { SCHEMA_FILE } from '../../cli/inspect.ts';

describe('graph format', () => {
  it('graphs/schema.json is the JSON Schema generated from the zod schema', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(graphJsonSchema());
  });

  it('migrate passes current documents and refuses newer ones clearly', () => {
    const doc = { format: 'facechain-graph', version: 2, nodes: [] };
    expect(migrate(doc)).toEqual(doc);
    expect(() => migrate({ ...doc, version: 3 })).toThrow(GraphFormatError);
    expect(() => migrate({ ...doc, version: 3 })).toThrow(/newer FaceChain Studio.*Please update/);
    expect(() => migrate({ ...doc, version: 0 })).toThrow(/positive integer/);
  });

  it('migrate runs each step from a document\'s version up to the latest, and names a missing one', () => {
    const v1 = { format: 'facechain-graph', version: 1, nodes: [{ id: 'n', type: 'image/resize', params: { w: 64 } }] };
    const steps = {
      1: (d: Record<string, unknown>) => ({ ...d, nodes: (d.nodes as { params: { w: number } }[]).map((n) => ({ ...n, params: { width: n.params.w } })) }),
      2: (d: Record<string, unknown>) => ({ ...d, meta: { upgradedFrom: d.version } }),
    };
    expect(migrate(v1, steps, 3)).toEqual({ ...v1, version: 3, nodes: [{ id: 'n', type: 'image/resize', params: { width: 64 } }], meta: { upgradedFrom: 2 } });
    expect(migrate({ ...v1, version: 2 }, steps, 3)).toEqual({ ...v1, version: 3, meta: { upgradedFrom: 2 } });
    expect(() => migrate(v1, { 2: steps[2] }, 3)).toThrow(/No migration from graph version 1/);
  });

  it('port compatibility explains a refusal', () => {
    expect(compatibility('IMAGE', 'IMAGES')).toEqual({ ok: true, widened: true });
    expect(compatibility('MASK', 'IMAGE')).toEqual({ ok: true, widened: true });
    const no = compatibility('IMAGES', 'IMAGE');
    expect(no.ok).toBe(false);
    if (!no.ok) expect(no.reason).toBe('IMAGES cannot feed a IMAGE input (it accepts IMAGE or MASK)');
  });
});
