// The parts of a TF.js graph-model `model.json` that the converter reads (tfjs-converter's format:
// modelTopology is a TF GraphDef in proto3 JSON, weightsManifest lists the binary shards).
import { z } from 'zod';

// proto3 JSON writes int64 as strings; small ints may also come as numbers.
const int64 = z.union([z.string(), z.number()]).transform((v) => Number(v));

const dim = z.object({ size: int64.optional() });
export const tensorShapeSchema = z.object({
  dim: z.array(dim).optional(),
  unknownRank: z.boolean().optional(),
});

const tensorSchema = z.object({
  dtype: z.string().optional(),
  tensorShape: tensorShapeSchema.optional(),
});

const attrListSchema = z.object({
  s: z.array(z.string()).optional(),
  i: z.array(int64).optional(),
  f: z.array(z.number()).optional(),
  b: z.array(z.boolean()).optional(),
  type: z.array(z.string()).optional(),
  shape: z.array(tensorShapeSchema).optional(),
});

/** One AttrValue: exactly one of these fields is set. `s` is base64 (bytes in proto3 JSON). */
export const attrValueSchema = z.object({
  s: z.string().optional(),
  i: int64.optional(),
  f: z.number().optional(),
  b: z.boolean().optional(),
  type: z.string().optional(),
  shape: tensorShapeSchema.optional(),
  tensor: tensorSchema.optional(),
  list: attrListSchema.optional(),
  func: z.unknown().optional(),
});
export type AttrValue = z.infer<typeof attrValueSchema>;

export const tfNodeSchema = z.object({
  name: z.string(),
  op: z.string(),
  input: z.array(z.string()).optional(),
  device: z.string().optional(),
  attr: z.record(z.string(), attrValueSchema).optional(),
});
export type TfNode = z.infer<typeof tfNodeSchema>;

const quantizationSchema = z.object({
  dtype: z.enum(['uint8', 'uint16', 'float16']),
  min: z.number().optional(),
  scale: z.number().optional(),
  original_dtype: z.string().optional(),
});

export const weightEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32', 'bool']),
  quantization: quantizationSchema.optional(),
});
export type WeightEntry = z.infer<typeof weightEntrySchema>;

const signatureTensorSchema = z.object({
  name: z.string(),
  dtype: z.string().optional(),
  tensorShape: tensorShapeSchema.optional(),
});

export const graphModelJsonSchema = z.object({
  format: z.literal('graph-model'),
  generatedBy: z.string().optional(),
  convertedBy: z.string().optional(),
  modelTopology: z.object({
    node: z.array(tfNodeSchema),
    library: z.object({ function: z.array(z.unknown()).optional() }).optional(),
    versions: z.unknown().optional(),
  }),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(weightEntrySchema) })),
  signature: z
    .object({
      inputs: z.record(z.string(), signatureTensorSchema).optional(),
      outputs: z.record(z.string(), signatureTensorSchema).optional(),
    })
    .optional(),
});
export type GraphModelJson = z.infer<typeof graphModelJsonSchema>;
