import { z } from 'zod';

/**
 * Param forms from the catalog's param JSON Schemas. The subset of JSON Schema the widgets read is a
 * zod schema so odd catalogs fail loudly here, not deep inside a component.
 */
const Num = z.number().optional();
const PropertySchema = z.looseObject({
  type: z.union([z.string(), z.array(z.string())]).optional(),
  enum: z.array(z.unknown()).optional(),
  default: z.unknown().optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  minimum: Num,
  maximum: Num,
  exclusiveMinimum: Num,
  exclusiveMaximum: Num,
  minLength: Num,
  maxLength: Num,
  pattern: z.string().optional(),
  multipleOf: Num,
  /** z.union of literals: a choice of constants. */
  anyOf: z.array(z.looseObject({ const: z.unknown().optional() })).optional(),
  oneOf: z.array(z.looseObject({ const: z.unknown().optional() })).optional(),
  minItems: Num,
  maxItems: Num,
  items: z.looseObject({ type: z.string().optional(), minimum: Num, maximum: Num }).optional(),
  /** Editor hints from runtime/params.ts `.meta()`. */
  ui: z.string().optional(),
  kind: z.string().optional(),
  step: Num,
});
const ParamsSchemaSchema = z.looseObject({
  properties: z.record(z.string(), PropertySchema).default({}),
  required: z.array(z.string()).default([]),
});
type Property = z.infer<typeof PropertySchema>;

interface FieldBase {
  key: string;
  label: string;
  description?: string;
  default?: unknown;
  /** No default and listed as required: the node cannot run without it. */
  required: boolean;
}

export type Field = FieldBase &
  (
    | {
        kind: 'number';
        integer: boolean;
        min?: number;
        max?: number;
        step: number;
        multipleOf?: number;
        slider: boolean;
        exclusive: { min: boolean; max: boolean };
      }
    | { kind: 'seed'; max: number }
    | { kind: 'select'; options: (string | number | boolean)[] }
    | { kind: 'checkbox' }
    | { kind: 'text'; multiline: boolean; pattern?: string; minLength?: number; maxLength?: number }
    | { kind: 'colour' }
    | { kind: 'input-path' }
    /** `builtin`: names that are not files (the built-in checkpoints), offered before the store's files. */
    | { kind: 'model'; modelKind: string; builtin: string[] }
    | { kind: 'number-list'; integer: boolean; min?: number; max?: number; minItems?: number; maxItems?: number }
    | { kind: 'json' }
  );

/** Sliders make sense for ranges a thumb can cover: at most this many steps. */
const MAX_SLIDER_STEPS = 4096;

export function formModel(paramsSchema: unknown): Field[] {
  const schema = ParamsSchemaSchema.parse(paramsSchema ?? {});
  const required = new Set(schema.required);
  return Object.entries(schema.properties).map(([key, prop]) => toField(key, prop, required.has(key) && prop.default === undefined));
}

function toField(key: string, p: Property, required: boolean): Field {
  const base: FieldBase = { key, label: p.title ?? humanize(key), description: p.description, default: p.default, required };
  const type = Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
  if (p.ui === 'seed') return { ...base, kind: 'seed', max: p.maximum ?? 2 ** 32 - 1 };
  if (p.enum) return { ...base, kind: 'select', options: p.enum.filter(isScalar) };
  const choices = (p.anyOf ?? p.oneOf)?.map((c) => c.const);
  if (choices?.length && choices.every(isScalar)) return { ...base, kind: 'select', options: choices };
  if (p.ui === 'number-list' || (type === 'array' && (p.items?.type === 'number' || p.items?.type === 'integer'))) {
    return {
      ...base,
      kind: 'number-list',
      integer: p.items?.type === 'integer',
      min: p.items?.minimum,
      max: p.items?.maximum,
      minItems: p.minItems,
      maxItems: p.maxItems,
    };
  }
  if (type === 'number' || type === 'integer') {
    const integer = type === 'integer';
    const min = p.minimum ?? p.exclusiveMinimum;
    const max = p.maximum ?? p.exclusiveMaximum;
    const step = p.step ?? p.multipleOf ?? (integer ? 1 : defaultStep(min, max));
    const slider = min !== undefined && max !== undefined && (max - min) / step <= MAX_SLIDER_STEPS;
    return {
      ...base,
      kind: 'number',
      integer,
      min,
      max,
      step,
      multipleOf: p.multipleOf,
      slider,
      exclusive: { min: p.minimum === undefined && p.exclusiveMinimum !== undefined, max: p.maximum === undefined && p.exclusiveMaximum !== undefined },
    };
  }
  if (type === 'boolean') return { ...base, kind: 'checkbox' };
  if (type === 'string') {
    if (p.ui === 'colour') return { ...base, kind: 'colour' };
    if (p.ui === 'input-path') return { ...base, kind: 'input-path' };
    if (p.ui === 'model') return { ...base, kind: 'model', modelKind: p.kind ?? 'checkpoints', builtin: Array.isArray(p.builtin) ? p.builtin.filter((b): b is string => typeof b === 'string') : [] };
    return { ...base, kind: 'text', multiline: p.ui === 'textarea', pattern: p.pattern, minLength: p.minLength, maxLength: p.maxLength };
  }
  return { ...base, kind: 'json' };
}

function defaultStep(min?: number, max?: number): number {
  if (min !== undefined && max !== undefined && max - min <= 2) return 0.01;
  return 0.1;
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** "applyExif" -> "Apply exif", "lora_scale" -> "Lora scale". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Params a freshly added node starts with: every default written out, so the graph says what it does. */
export function defaultParams(fields: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f.default !== undefined) out[f.key] = structuredClone(f.default);
  return out;
}

/** The value a field shows: the param when set, else the default. */
export function fieldValue(field: Field, params: Record<string, unknown>): unknown {
  return field.key in params ? params[field.key] : field.default;
}

/** Client-side check of a value against the field's constraints; the server's validation stays the judge. */
export function checkValue(field: Field, value: unknown): string | undefined {
  if (value === undefined) return field.required ? 'Required' : undefined;
  switch (field.kind) {
    case 'number': {
      const e = checkNumber(value, field.integer, field.min, field.max, field.exclusive);
      if (e || !field.multipleOf) return e;
      return Number.isInteger((value as number) / field.multipleOf) ? undefined : `Must be a multiple of ${field.multipleOf}`;
    }
    case 'seed':
      return checkNumber(value, true, 0, field.max);
    case 'select':
      return field.options.includes(value as string) ? undefined : `Pick one of ${field.options.join(', ')}`;
    case 'checkbox':
      return typeof value === 'boolean' ? undefined : 'Must be true or false';
    case 'colour':
      return typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value) ? undefined : 'Use a colour like #ffffff';
    case 'text':
    case 'input-path':
    case 'model': {
      if (typeof value !== 'string') return 'Must be text';
      if (field.kind !== 'text') return field.required && !value ? 'Required' : undefined;
      if (field.minLength !== undefined && value.length < field.minLength) return `At least ${field.minLength} character(s)`;
      if (field.maxLength !== undefined && value.length > field.maxLength) return `At most ${field.maxLength} characters`;
      if (field.pattern && !new RegExp(field.pattern, 'u').test(value)) return `Must match ${field.pattern}`;
      return undefined;
    }
    case 'number-list': {
      if (!Array.isArray(value)) return 'Must be a list of numbers';
      if (field.maxItems !== undefined && value.length > field.maxItems) return `At most ${field.maxItems} numbers`;
      if (field.minItems !== undefined && value.length < field.minItems) return `At least ${field.minItems} numbers`;
      for (const [i, v] of value.entries()) {
        const e = checkNumber(v, field.integer, field.min, field.max);
        if (e) return `Item ${i + 1}: ${e}`;
      }
      return undefined;
    }
    case 'json':
      return undefined;
  }
}

function checkNumber(v: unknown, integer: boolean, min?: number, max?: number, exclusive = { min: false, max: false }): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'Must be a number';
  if (integer && !Number.isInteger(v)) return 'Must be a whole number';
  if (min !== undefined && (exclusive.min ? v <= min : v < min)) return `Must be ${exclusive.min ? 'more than' : 'at least'} ${min}`;
  if (max !== undefined && (exclusive.max ? v >= max : v > max)) return `Must be ${exclusive.max ? 'less than' : 'at most'} ${max}`;
  return undefined;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** "1, 0.5 0 ,1" -> [1, 0.5, 0, 1]; commas and/or spaces separate. */
export function parseNumberList(text: string): Parsed<number[]> {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isFinite(n)) return { ok: false, error: `"${p}" is not a number` };
    out.push(n);
  }
  return { ok: true, value: out };
}

export function formatNumberList(values: unknown): string {
  return Array.isArray(values) ? values.join(', ') : '';
}

/** Parses a number field's text; empty text means "unset" (the default applies). */
export function parseNumber(text: string): Parsed<number | undefined> {
  if (!text.trim()) return { ok: true, value: undefined };
  const n = Number(text);
  return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: `"${text}" is not a number` };
}

/** Rounds to the field's step grid (from its minimum), so slider values do not drift to 0.30000000000000004. */
export function snapToStep(value: number, step: number, min = 0): number {
  const snapped = min + Math.round((value - min) / step) * step;
  const decimals = (String(step).split('.')[1] ?? '').length;
  return Number(snapped.toFixed(decimals));
}

export function randomSeed(max: number, random: () => number = Math.random): number {
  return Math.floor(random() * (max + 1));
}
