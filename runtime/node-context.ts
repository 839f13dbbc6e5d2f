import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Graph, PreviewImage, RunEvent } from '../protocol/index.ts';
import type { DataFolders } from './data-folder.ts';
import { encodePreview } from './image-io.ts';
import type { RunContext, Services } from './node.ts';
import { Rng, hash32 } from './rng.ts';
import { isImage, type Image } from './values.ts';

export interface NodeContextOptions {
  runId: string;
  nodeId: string;
  /** The node's cache key: seeds its rng when it has no `seed` param, and names its cache folder. */
  key: string;
  params: Record<string, unknown>;
  signal: AbortSignal;
  graph: Graph;
  data: DataFolders;
  services: Services;
  /** Minimum milliseconds between two progress events (a final 1 always goes out). */
  progressIntervalMs: number;
  emit(event: RunEvent, preview?: PreviewImage): void;
  /** A run-wide counter: preview ids are unique within a run. */
  nextPreviewId(): number;
}

/** What a node's `run` sees, and the preview encodings it started (wait for them before finishing it). */
export function nodeContext(o: NodeContextOptions): { ctx: RunContext; pending: Promise<void>[] } {
  const { runId, nodeId, key, emit } = o;
  const pending: Promise<void>[] = [];
  let lastProgress = 0;
  const ctx: RunContext = {
    runId,
    nodeId,
    signal: o.signal,
    graph: o.graph,
    data: o.data,
    services: o.services,
    cacheKey: key,
    rng: new Rng(typeof o.params.seed === 'number' ? o.params.seed : hash32(key)),
    cacheDir: () => {
      const dir = path.join(o.data.cache, 'nodes', key.slice(0, 32));
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    progress: (fraction, message) => {
      const now = performance.now();
      if (fraction < 1 && now - lastProgress < o.progressIntervalMs) return;
      lastProgress = now;
      emit({ type: 'node.progress', runId, nodeId, time: Date.now(), fraction: Math.max(0, Math.min(1, fraction)), message });
    },
    preview: (images) => {
      const list = Array.isArray(images) ? images : [images];
      const id = o.nextPreviewId();
      pending.push(
        Promise.all(list.filter(isImage).map((img: Image) => encodePreview(img))).then((encoded) =>
          encoded.forEach((p, index) =>
            emit(
              { type: 'node.preview', runId, nodeId, time: Date.now(), previewId: id, index, width: p.width, height: p.height, mime: 'image/jpeg' },
              { mime: 'image/jpeg', data: p.data },
            ),
          ),
        ),
      );
    },
    log: {
      info: (message) => emit({ type: 'log', runId, nodeId, time: Date.now(), level: 'info', message }),
      warn: (message) => emit({ type: 'log', runId, nodeId, time: Date.now(), level: 'warn', message }),
      error: (message) => emit({ type: 'log', runId, nodeId, time: Date.now(), level: 'error', message }),
    },
  };
  return { ctx, pending };
}
