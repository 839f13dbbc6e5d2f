import { z } from 'zod';
import {
  CatalogSchema, type Catalog, type Component, ComponentSavedSchema, type ComponentSaved, ErrorBodySchema, GraphDocumentSchema, GraphListSchema, type GraphList, type Graph,
  GraphSavedSchema, type Health, HealthSchema, type InputEntry, InputsSchema, LibraryEntrySchema, type LibraryEntry, type LibraryItem, LibraryListSchema,
  type ModelFile, ModelsSchema, OkSchema, type Problem, RunDetailSchema, type RunDetail, RunListSchema, type RunStarted, RunStartedSchema, type RunSummary,
  type Upload, UploadSchema, type ValidateAnswer, ValidateAnswerSchema,
} from '../../../protocol/index.ts';
import { withToken } from './token.ts';

/** REST client for docs/api.md. Answers are checked with protocol/'s schemas so a server mismatch reads clearly. */
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
  health(): Promise<Health> {
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
    return this.request(`/api/graphs/examples/${encodeURIComponent(id)}`, GraphDocumentSchema);
  }

  userGraph(id: string): Promise<unknown> {
    return this.request(`/api/graphs/user/${encodeURIComponent(id)}`, GraphDocumentSchema);
  }

  saveUserGraph(id: string, graph: Graph): Promise<unknown> {
    return this.request(`/api/graphs/user/${encodeURIComponent(id)}`, GraphSavedSchema, this.json('PUT', graph));
  }

  deleteUserGraph(id: string): Promise<unknown> {
    return this.request(`/api/graphs/user/${encodeURIComponent(id)}`, OkSchema, { method: 'DELETE' });
  }

  /** The component library (data/components/). */
  library(): Promise<LibraryItem[]> {
    return this.request('/api/components', LibraryListSchema);
  }

  libraryComponent(id: string): Promise<LibraryEntry> {
    return this.request(`/api/components/${encodeURIComponent(id)}`, LibraryEntrySchema);
  }

  /** Saves a component as the next version of library entry `id`. */
  saveComponent(id: string, component: Component, components: Record<string, Component>): Promise<ComponentSaved> {
    return this.request(`/api/components/${encodeURIComponent(id)}`, ComponentSavedSchema, this.json('PUT', { component, components }));
  }

  validate(graph: Graph): Promise<ValidateAnswer> {
    return this.request('/api/validate', ValidateAnswerSchema, this.json('POST', graph));
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

  upload(file: Blob, name: string): Promise<Upload> {
    return this.request(`/api/uploads?name=${encodeURIComponent(name)}`, UploadSchema, { method: 'POST', body: file });
  }

  startRun(graph: Graph, targets?: string[]): Promise<RunStarted> {
    return this.request('/api/runs', RunStartedSchema, this.json('POST', targets?.length ? { graph, targets } : { graph }));
  }

  cancelRun(runId: string): Promise<unknown> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}/cancel`, OkSchema, { method: 'POST' });
  }

  /** Queues again, as a new run, the graph of a run a stopped server or worker interrupted. */
  requeueRun(runId: string): Promise<RunStarted> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}/requeue`, RunStartedSchema, { method: 'POST' });
  }

  run(runId: string): Promise<RunDetail> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}`, RunDetailSchema);
  }

  /** The run history, newest first: this server process's runs and those saved by earlier ones. */
  runs(): Promise<RunSummary[]> {
    return this.request('/api/runs', RunListSchema);
  }

  /** The graph document a run ran, unparsed like the other stored graphs. */
  runGraph(runId: string): Promise<unknown> {
    return this.request(`/api/runs/${encodeURIComponent(runId)}/graph`, GraphDocumentSchema);
  }

  outputUrl(runId: string, nodeId: string, port: string, index: number): string {
    return this.url(`/api/runs/${encodeURIComponent(runId)}/outputs/${encodeURIComponent(nodeId)}/${encodeURIComponent(port)}/${index}`);
  }
}
