import { z } from 'zod';

/**
 * Param building blocks with editor hints. `ui` (and `step`) land in the catalog's JSON Schema through
 * zod's `.meta()`, and the editor picks its widget from them.
 */
/** A 32-bit seed; 42 when none is given, for nodes and direct calls alike. */
export const SeedSchema = z.number().int().min(0).max(2 ** 32 - 1).default(42);

export const seedParam = () =>
  SeedSchema.meta({ ui: 'seed', description: 'Random seed; the same seed gives the same result' });

export const colourParam = (fallback: string, description: string) =>
  z.string().regex(/^#[0-9a-fA-F]{6}$/, 'use a colour like #ffffff').default(fallback).meta({ ui: 'colour', description });

export const promptParam = (fallback: string, description: string) =>
  z.string().max(10_000).default(fallback).meta({ ui: 'textarea', description });

/**
 * Which params name files of the data folder, as data of their schema (their `.meta()`): validation on a
 * machine checks that those files are there (runtime/file-checks.ts).
 */
export const FileParamMetaSchema = z.discriminatedUnion('ui', [
  z.object({ ui: z.literal('input-path') }),
  z.object({
    ui: z.literal('model'),
    /** The folder under data/models. */
    kind: z.string(),
    /** Names that are not files (the built-in `tiny` checkpoint). */
    builtin: z.array(z.string()).optional(),
    /** Whether empty means "none" (else it means "not chosen yet", a problem). */
    optional: z.boolean().optional(),
  }),
]);
export type FileParamMeta = z.infer<typeof FileParamMetaSchema>;

/** A file or folder inside data/input, picked from the server's listing. */
export const inputPathParam = (fallback: string, description: string) =>
  z.string().min(1).max(500).default(fallback).meta({ ui: 'input-path', description } satisfies FileParamMeta & { description: string });

/** A file of the model store, e.g. kind 'loras' or 'checkpoints'. */
export const modelParam = (
  kind: string,
  fallback: string,
  description: string,
  more: Pick<Extract<FileParamMeta, { ui: 'model' }>, 'builtin' | 'optional'> = {},
) => z.string().max(500).default(fallback).meta({ ui: 'model', kind, ...more, description } satisfies FileParamMeta & { description: string });

export const numberListParam = (fallback: number[], description: string) =>
  z.array(z.number()).max(64).default(fallback).meta({ ui: 'number-list', description });

/** Output file name prefix: plain characters only, so it can never form a path. */
export const filePrefixParam = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default(fallback)
    .meta({ description: 'Start of the output file names' });
