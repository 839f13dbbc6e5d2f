import type { DataFolders } from '../runtime/data-folder.ts';
import type { NodeRegistry } from '../runtime/registry.ts';
import type { RunHistory } from './run-history.ts';
import type { RunQueue } from './run-queue.ts';

export interface ServerContext {
  registry: NodeRegistry;
  data: DataFolders;
  queue: RunQueue;
  /** Ended runs saved in the data folder, also those of earlier server processes. */
  history: RunHistory;
  /** Shipped example graphs (the repository's graphs/ folder). */
  examplesDir: string;
}
