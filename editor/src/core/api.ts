import { z } from 'zod';
import { CatalogSchema, type Catalog } from '../../../runtime/catalog.ts';
import { ProblemSchema, type Problem } from '../../../runtime/events.ts';
import type { Graph } from '../../../runtime/graph-format.ts';
import { RunSummarySchema, type RunSummary } from '../../../runtime/run-summary.ts';
import { HealthSchema } from '../../../runtime/runtime-info.ts';
import { withToken } from './token.ts';

/** REST client for docs/api.md. Responses are checked with zod so a server mismatch reads clearly. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

const ErrorBodySchema = z.object({ error: z.string(), problems: z.array(ProblemSchema).optional() });

export const GraphListSchema = z.object({
  examples: z.array(z.object({ id: z.string(), name: z.string(), about: z.string().optional() })),
  // `problem`: why a saved file cannot be opened (not JSON, not a valid graph).
  user: z.array(z.object({ id: z.string(), name: z.string(), updated: z.union([z.string(), z.number()]).optional(), problem: z.string().optional() })),
});
export type GraphList = z.infer<typeof GraphListSchema>;

export const InputsSchema = z.object({
  entries: z.array(z.object({ path: z.string(), kind: z.enum(['file', 'folder']), size: z.number().optional() })),
});
export type InputEntry = z.infer<typeof InputsSchema>['entries'][number];

export const ModelsSchema = z.object({ kind: z.string(), files: z.array(z.object({ path: z.string(), size: z.number() })) });
export type ModelFile = z.infer<typeof ModelsSchema>['files'][number];

const UploadSchema = z.object({ id: z.string(), path: z.string(), width: z.number(), height: z.number() });
const RunStartSchema = z.object({ runId: z.string(), position: z.number() });
const ValidateSchema = z.object({ ok: z.boolean(), problems: z.array(ProblemSchema) });

export const RunDetailSchema = z.looseObject({
  runId: z.string(),
  status: z.string(),
  nodes: z.record(
    z.string(),
    z.looseObject({ state: z.string(), images: z.record(z.string(), z.number()).optional() }),
  ),
});
export type RunDetail = z.infer<typeof RunDetailSchema>;

export class Api {
  constructor(
    readonly base: string,
    readonly token?: string,
  ) {}

  /** A URL for <img>, <a download> or WebSocket use: they cannot send the Authorization header. */
  url(path: string): string {
    return withToken(`${this.base}${path}`, this.token);
  }

  private async request<T>(path: string, schema: z.ZodType<T>, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('Authorization', `Bearer ${this.token}`);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { ...init, headers });
    } catch (e) {
      throw new ApiError(`The server cannot be reached (${(e as Error).message})`, 0);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const err = ErrorBodySchema.safeParse(body);
      if (res.status === 401) throw new ApiError('The server wants an access token: open the link with ?token=… that it printed', 401);
      throw new ApiError(err.success ? err.data.error : `${res.status} ${res.statusText}`, res.status, err.success ? err.data.problems : []);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ApiError(`Unexpected answer from ${path}: ${z.prettifyError(parsed.error)}`, res.status);
    return parsed.data;
  }

  private json(method: string, body: unknown): RequestInit {
    return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  }

  /** The server's health: the execution provider, the refused ones and why, each SD part's precision. */
  health(): Promise<z.infer<typeof HealthSchema>> {
    return this.request('/api/health', HealthSchema);
  }

  catalog(): Promise<Catalog> {
    return this.request('/api/nodes', CatalogSchema);
  }

  graphs(): Promise<GraphList> {
    return this.request('/api/graphs', GraphListSchema);
  }

  /** A stored graph document, unparsed: the caller opens it through graph-io for clear format errors. */
  example(id: string): Promise<unknown> {
    return this.request(`/api/graphs/examples/${encodeURIComponent(id)}`, z.unknown());
  }

  userGraph(id: string): Promise<unknown> {
    return this.request(`/api/graphs/user/${encodeURIComponent(id)}`, z.unknown());
  }

  saveUserGraph(id: string, graph: Graph): Promise<unknown> {
    return this.request(`/api/graphs/user/${encodeURIComponent(id)}`, z.unknown(), this.json('PUT', graph));
  }

  deleteUserGraph(id: string): Promise<unknown> {
    return this.request(`/api/graphs/user/${encodeURIComponent(id)}`, z.unknown(), { method: 'DELETE' });
  }

  validate(graph: Graph): Promise<z.infer<typeof ValidateSchema>> {
    return this.request('/api/validate', ValidateSchema, this.json('POST', graph));
  }

  inputs(): Promise<InputEntry[]> {
    return this.request('/api/inputs', InputsSchema).then((r) => r.entries);
  }

  thumbnailUrl(path: string, size = 128): string {
    return this.url(`/api/inputs/thumbnail?path=${encodeURIComponent(path)}&size=${size}`);
  }

  models(kind: string): Promise<ModelFile[]> {
    return this.request(`/api/models?kind=${encodeURIComponent(kind)}`, ModelsSchema).then((r) => r.files);
  }

  upload(file: Blob, name: string): Promise<z.infer<typeof UploadSchema>> {
    return this.request(`/api/uploads?name=${encodeURIComponent(name)}`, UploadSchema, { method: 'POST', body: file });
  }

  startRun(graph: Graph, targets?: string[]): Promise<z.infer<typeof RunStartSchema>> {
    return this.request('/api/runs', RunStartSchema, this.json('POST', targets?.length ? { graph, targets } : { graph }));
  }

  cancelRun(runId: string): Promise<unknown> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}/cancel`, z.unknown(), { method: 'POST' });
  }

  run(runId: string): Promise<RunDetail> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}`, RunDetailSchema);
  }

  /** The run history, newest first: this server process's runs and those saved by earlier ones. */
  runs(): Promise<RunSummary[]> {
    return this.request('/api/runs', z.array(RunSummarySchema));
  }

  /** The graph document a run ran, unparsed like the other stored graphs. */
  runGraph(runId: string): Promise<unknown> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}/graph`, z.unknown());
  }

  outputUrl(runId: string, nodeId: string, port: string, index: number): string {
    return this.url(`/api/runs/${encodeURIComponent(runId)}/outputs/${encodeURIComponent(nodeId)}/${encodeURIComponent(port)}/${index}`);
  }
}
