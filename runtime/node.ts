import type { z } from 'zod';
import type { PortType, Graph } from '../protocol/index.ts';
import type { Image, PortValues } from './values.ts';
import type { Rng } from './rng.ts';
import type { DataFolders } from './data-folder.ts';
import type { InputEstimates, SizeEstimate } from './memory-estimate.ts';

export interface PortSpec {
  type: PortType;
  description?: string;
  /** An optional input may stay unconnected; the node then receives `undefined`. */
  optional?: boolean;
}
export type Ports = Record<string, PortSpec>;

type ValueOf<S extends PortSpec> = PortValues[S['type']];
export type InputValues<I extends Ports> = {
  [K in keyof I]: I[K]['optional'] extends true ? ValueOf<I[K]> | undefined : ValueOf<I[K]>;
};
export type OutputValues<O extends Ports> = { [K in keyof O]: ValueOf<O[K]> };

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Heavy shared things (loaded models, sessions, ...), one set per executor, so a server, a CLI run and
 * each test get their own. Modules add theirs by declaration merging and fill them on first use.
 */
export interface Services {}

export interface RunContext {
  runId: string;
  nodeId: string;
  /** Aborted when the run is cancelled; long loops check it between steps. */
  signal: AbortSignal;
  progress(fraction: number, message?: string): void;
  /** Streams intermediate images to watchers (encoded and downscaled by the executor). */
  preview(images: Image | Image[]): void;
  log: Logger;
  /** Seeded from the node's `seed` param when it has one, else from the graph and node id. */
  rng: Rng;
  data: DataFolders;
  services: Services;
  /** Identity of this node's result: type, version, params and inputs. */
  cacheKey: string;
  /** A folder under data/cache owned by this result, for large artefacts kept on disk. */
  cacheDir(): string;
  /** The whole graph being run (the save node embeds it in images). */
  graph: Graph;
}

export interface NodeDefinition<
  I extends Ports = Ports,
  O extends Ports = Ports,
  P extends z.ZodObject = z.ZodObject,
> {
  type: string;
  version: number;
  category: string;
  title: string;
  /** What a user reads in the editor: what the node does, where its defaults come from. */
  description: string;
  inputs: I;
  outputs: O;
  params: P;
  /**
   * Params written for an older `version` of this type, brought up to date (a renamed or re-scaled
   * param). Graphs record the version their nodes were made with; opening one upgrades it and logs so.
   */
  migrate?(params: Record<string, unknown>, fromVersion: number): Record<string, unknown>;
  /** false for nodes whose point is a side effect (saving, previewing): they run every time. */
  cacheable?: boolean;
  /**
   * Extra identity for the cache key beyond params and inputs, e.g. the size and mtime of files a node
   * reads, so an edited file is not served from cache.
   */
  fingerprint?(params: z.infer<P>, data: DataFolders): string;
  /**
   * What each output will hold in memory, from the inputs' estimates and the params, before anything runs
   * (the run's memory budget). Without it an output is taken to be as large as its largest input.
   */
  estimate?(
    ctx: { data: DataFolders },
    inputs: InputEstimates,
    params: z.infer<P>,
  ): Record<string, SizeEstimate> | Promise<Record<string, SizeEstimate>>;
  run(ctx: RunContext, inputs: InputValues<I>, params: z.infer<P>): Promise<OutputValues<O>> | OutputValues<O>;
}

// `any`: a registry holds nodes of every param schema, and each one's `run` takes its own.
export type AnyNodeDefinition = NodeDefinition<Ports, Ports, z.ZodObject<any>>;

/** Declares a node type: data (ports, params, description) plus one `run` function. */
export function defineNode<const I extends Ports, const O extends Ports, P extends z.ZodObject>(
  def: NodeDefinition<I, O, P>,
): AnyNodeDefinition {
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(def.type)) {
    throw new Error(`Node type "${def.type}" must look like "category/name" in lower-case kebab style`);
  }
  return def as unknown as AnyNodeDefinition;
}
