// The compute runtime as /api/health reports it (server/runtime-info.ts) and the editor shows it.
import { z } from 'zod';

const PrecisionSchema = z.enum(['fp32', 'fp16']);

export const RuntimeInfoSchema = z.union([
  z.object({
    /** The execution provider every session runs on. */
    provider: z.string(),
    /** Providers tried first and why each was refused (one short line). */
    refused: z.array(z.object({ provider: z.string(), reason: z.string() })),
    /** The precision SD graphs are made in on this provider. */
    precision: PrecisionSchema,
    /**
     * Each SD part made so far: provider and precision (and why fp16 was refused, when it was); memory
     * 'speed' where its weights were folded to float32 (`--sd-memory speed`, and int8's VAE decoder),
     * 'int8' where its linear layers run on 8-bit weights (`--sd-memory int8`).
     */
    parts: z.record(z.string(), z.object({ provider: z.string(), precision: PrecisionSchema, memory: z.enum(['speed', 'int8']).optional(), refused: z.string().optional() })),
  }),
  z.object({ provider: z.null(), error: z.string() }),
]);
export type RuntimeInfo = z.infer<typeof RuntimeInfoSchema>;
