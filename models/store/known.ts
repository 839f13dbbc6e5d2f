// What we know about a model we can point users to: where it comes from, its licence, its hashes.
// Matching a user's file against these hashes tells them what they have without trusting its name.
import { z } from 'zod';
import { ModelKindSchema } from './folders.ts';

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'sha256: 64 lowercase hex digits');

export const KnownModelSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'id: lowercase letters, digits, . _ -'),
    kind: ModelKindSchema,
    /** The files as they lie in the kind's folder (or inside `package`), each with its hash. */
    files: z.array(z.object({ path: z.string().min(1), sha256: Sha256Schema, size: z.number().int().nonnegative().optional() })).min(1),
    /** Hash of the main file (the one a picker names), so a user's copy can be recognised. */
    sha256: Sha256Schema,
    /** Set when the files ship inside this npm package: nothing to put in the models folder. */
    package: z.string().min(1).optional(),
    /** Where to get it (a page, not something we download). */
    source: z.string().url(),
    licence: z.string().min(1),
    description: z.string(),
  })
  .strict()
  .refine((m) => m.files.some((f) => f.sha256 === m.sha256), { message: 'sha256 must be the hash of one of the files' });

export type KnownModel = z.infer<typeof KnownModelSchema>;

/** A checked set of known models: every entry valid, ids unique; looked up by any file's hash. */
export class KnownModels {
  readonly all: readonly KnownModel[];
  private readonly byHash = new Map<string, KnownModel>();

  constructor(models: readonly KnownModel[]) {
    this.all = models.map((m) => KnownModelSchema.parse(m));
    const ids = new Set<string>();
    for (const m of this.all) {
      if (ids.has(m.id)) throw new Error(`known model id "${m.id}" appears twice`);
      ids.add(m.id);
      for (const f of m.files) this.byHash.set(f.sha256, m);
    }
  }

  /** The model one of whose files has this hash. */
  bySha256(sha256: string): KnownModel | undefined {
    return this.byHash.get(sha256);
  }

  /** Models whose main file has this size: a hint before a file is hashed. */
  bySize(size: number): KnownModel[] {
    return this.all.filter((m) => m.files.some((f) => f.sha256 === m.sha256 && f.size === size));
  }
}
