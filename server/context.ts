import type { DataFolders } from '../runtime/data-folder.ts';
import type { NodeRegistry } from '../runtime/registry.ts';
import type { RunQueue } from './run-queue.ts';

export interface ServerContext {
  registry: NodeRegistry;
  data: DataFolders;
  queue: RunQueue;
  /** Shipped example graphs (the repository's graphs/ folder). */
  examplesDir: string;
}
