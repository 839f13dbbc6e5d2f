// The REST API's requests and answers (docs/api.md). The server's routes answer values of these types
// (`satisfies`), the editor's client parses answers with them, and test/server/contract.test.ts checks
// every route's answer against its entry of API_ANSWERS.
import { z } from 'zod';
import { CatalogSchema } from './catalog.ts';
import { LibraryEntrySchema } from './component-library.ts';
import { ProblemSchema, RunEventSchema } from './events.ts';
import { GRAPH_FORMAT } from './graph-format.ts';
import { LogLineSchema, NodeRunSchema } from './run-state.ts';
import { RunSummarySchema } from './run-summary.ts';
import { RuntimeInfoSchema } from './runtime-info.ts';

/** Every answer that is not 2xx. */
export const ErrorBodySchema = z.object({ error: z.string(), problems: z.array(ProblemSchema).optional() });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** `runtime`: the execution provider sessions run on, refused ones, SD precision (protocol/runtime-info.ts). */
export const HealthSchema = z.object({ ok: z.literal(true), version: z.number(), runtime: RuntimeInfoSchema });
export type Health = z.infer<typeof HealthSchema>;
export const OkSchema = z.object({ ok: z.boolean() });
export type Ok = z.infer<typeof OkSchema>;

/** A graph document as it was stored or submitted (it may be of an older version: `migrate` reads it). */
export const GraphDocumentSchema = z.looseObject({ format: z.literal(GRAPH_FORMAT), version: z.int().min(1) });

export const ValidateAnswerSchema = z.object({ ok: z.boolean(), problems: z.array(ProblemSchema) });
export type ValidateAnswer = z.infer<typeof ValidateAnswerSchema>;

export const GraphListSchema = z.object({
  examples: z.array(z.object({ id: z.string(), name: z.string(), about: z.string().optional(), problem: z.string().optional() })),
  // `problem`: why a saved file cannot be opened (not JSON, not a valid graph).
  user: z.array(z.object({ id: z.string(), name: z.string(), about: z.string().optional(), updated: z.number(), problem: z.string().optional() })),
});
export type GraphList = z.infer<typeof GraphListSchema>;

export const GraphSavedSchema = z.object({ id: z.string(), name: z.string() });
export type GraphSaved = z.infer<typeof GraphSavedSchema>;

export const InputEntrySchema = z.object({ path: z.string(), kind: z.enum(['file', 'folder']), size: z.number().optional() });
export type InputEntry = z.infer<typeof InputEntrySchema>;
export const InputsSchema = z.object({ entries: z.array(InputEntrySchema) });
export type Inputs = z.infer<typeof InputsSchema>;

export const ModelFileSchema = z.object({ path: z.string(), size: z.number() });
export type ModelFile = z.infer<typeof ModelFileSchema>;
export const ModelsSchema = z.object({ kind: z.string(), files: z.array(ModelFileSchema) });
export type Models = z.infer<typeof ModelsSchema>;

export const UploadSchema = z.object({ id: z.string(), path: z.string(), width: z.number(), height: z.number() });
export type Upload = z.infer<typeof UploadSchema>;

/** POST /api/runs: the graph is checked by the server's validation, which names node and field. */
export const RunSubmitSchema = z.object({ graph: z.unknown(), targets: z.array(z.string()).max(10_000).optional() }).strict();
export const RunStartedSchema = z.object({ runId: z.string(), position: z.number() });
export type RunStarted = z.infer<typeof RunStartedSchema>;

export const RunListSchema = z.array(RunSummarySchema);

/** GET /api/runs/:runId: the summary, each node's state (with its image outputs' counts while held) and the log's tail. */
export const RunDetailSchema = RunSummarySchema.extend({
  nodes: z.record(z.string(), NodeRunSchema.extend({ images: z.record(z.string(), z.number()).optional() })),
  logs: z.array(LogLineSchema),
});
export type RunDetail = z.infer<typeof RunDetailSchema>;

/** The component library's list: each entry, or why its file cannot be opened. */
export const LibraryListSchema = z.array(
  z.object({ id: z.string(), name: z.string().optional(), version: z.number().optional(), description: z.string().optional(), problem: z.string().optional() }),
);
export type LibraryItem = z.infer<typeof LibraryListSchema>[number];
export const ComponentSavedSchema = z.object({ id: z.string(), version: z.number() });
export type ComponentSaved = z.infer<typeof ComponentSavedSchema>;

/** The JSON answer of each route (method and express path under /api); `binary` routes send image bytes. */
export const API_ANSWERS = {
  'GET /health': HealthSchema,
  'GET /schema/graph': z.record(z.string(), z.unknown()),
  'GET /nodes': CatalogSchema,
  'POST /validate': ValidateAnswerSchema,
  'GET /graphs': GraphListSchema,
  'GET /graphs/examples/:id': GraphDocumentSchema,
  'GET /graphs/user/:id': GraphDocumentSchema,
  'PUT /graphs/user/:id': GraphSavedSchema,
  'DELETE /graphs/user/:id': OkSchema,
  'POST /uploads': UploadSchema,
  'GET /inputs': InputsSchema,
  'GET /inputs/thumbnail': 'binary',
  'GET /models': ModelsSchema,
  'POST /runs': RunStartedSchema,
  'GET /runs': RunListSchema,
  'GET /runs/:runId': RunDetailSchema,
  'GET /runs/:runId/events': z.array(RunEventSchema),
  'GET /runs/:runId/log': z.array(LogLineSchema),
  'GET /runs/:runId/graph': GraphDocumentSchema,
  'POST /runs/:runId/cancel': OkSchema,
  'POST /runs/:runId/requeue': RunStartedSchema,
  'GET /runs/:runId/outputs/:nodeId/:port/:index': 'binary',
  'GET /files/:id': 'binary',
  'GET /sweeps/:name/:file': 'binary',
  'GET /components': LibraryListSchema,
  'GET /components/:id': LibraryEntrySchema,
  'PUT /components/:id': ComponentSavedSchema,
} as const;
export type ApiRoute = keyof typeof API_ANSWERS;
