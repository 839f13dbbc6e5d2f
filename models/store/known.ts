// What we know about a model we can point users to: where it comes from, its licence, its hashes.
import { z } from 'zod';
import { ModelKindSchema } from './folders.ts';

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'sha256: 64 lowercase hex digits');

export const KnownModelSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'id: lowercase letters, digits, . _ -'),
    kind: ModelKindSchema,
    /** The files as they lie in the kind's folder, each with its hash. */
    files: z.array(z.object({ path: z.string().min(1), sha256: Sha256Schema, size: z.number().int().nonnegative().optional() })).min(1),
    /** Hash of the main file (the one a picker names), so a user's copy can be recognised. */
    sha256: Sha256Schema,
    /** Where to get it (a page, not something we download). */
    source: z.string().url(),
    licence: z.string().min(1),
    description: z.string(),
  })
  .strict()
  .refine((m) => m.files.some((f) => f.sha256 === m.sha256), { message: 'sha256 must be the hash of one of the files' });

export type KnownModel = z.infer<typeof KnownModelSchema>;
