import type { DataFolders } from '../runtime/data-folder.ts';
import type { NodeRegistry } from '../runtime/registry.ts';
import type { RunHistory } from './run-history.ts';
import type { RunEngine } from './queue/engine.ts';

export interface ServerContext {
  registry: NodeRegistry;
  data: DataFolders;
  queue: RunEngine;
  /** Ended runs saved in the data folder, also those of earlier server processes. */
  history: RunHistory;
  /** Shipped example graphs (the repository's graphs/ folder). */
  examplesDir: string;
}
