import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphFormatError, graphJsonSchema, migrate } from '../../runtime/graph-format.ts';
import { SCHEMA_FILE } from '../../cli/inspect.ts';
import { compatibility } from '../../runtime/ports.ts';

describe('graph format', () => {
  it('graphs/schema.json is the JSON Schema generated from the zod schema', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(graphJsonSchema());
  });

  it('migrate passes current documents and refuses newer ones clearly', () => {
    const doc = { format: 'facechain-graph', version: 1, nodes: [] };
    expect(migrate(doc)).toEqual(doc);
    expect(() => migrate({ ...doc, version: 2 })).toThrow(GraphFormatError);
    expect(() => migrate({ ...doc, version: 2 })).toThrow(/newer FaceChain Studio.*Please update/);
    expect(() => migrate({ ...doc, version: 0 })).toThrow(/positive integer/);
  });

  it('port compatibility explains a refusal', () => {
    expect(compatibility('IMAGE', 'IMAGES')).toEqual({ ok: true, widened: true });
    expect(compatibility('MASK', 'IMAGE')).toEqual({ ok: true, widened: true });
    const no = compatibility('IMAGES', 'IMAGE');
    expect(no.ok).toBe(false);
    if (!no.ok) expect(no.reason).toBe('IMAGES cannot feed a IMAGE input (it accepts IMAGE or MASK)');
  });
});
