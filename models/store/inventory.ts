// What is in the model folders and which of it is a known model, matched by sha256 (never by name).
import path from 'node:path';
import { listModels, kindFolder, MODEL_KINDS, type ModelEntry, type ModelKind } from './folders.ts';
import { hashIndex } from './hash.ts';
import type { KnownModel, KnownModels } from './known.ts';

export interface InventoryItem extends ModelEntry {
  folder: ModelKind;
  /** Absent for folders, for converted models (ours), and for files not hashed yet. */
  sha256?: string;
  known?: KnownModel;
  /** Known models of the same size, while the file has no hash yet. */
  sameSize: KnownModel[];
}

/**
 * Every listed model of every folder. Hashes come from the models folder's hash index; with `hash` the
 * missing ones are computed (and cached), which reads whole checkpoints. `onHash` hears each one first.
 */
export async function inventory(modelsDir: string, known: KnownModels, o: { hash?: boolean; onHash?: (item: InventoryItem) => void } = {}): Promise<InventoryItem[]> {
  const index = hashIndex(modelsDir);
  const items: InventoryItem[] = [];
  for (const folder of MODEL_KINDS) {
    for (const entry of listModels(modelsDir, folder)) {
      const item: InventoryItem = { ...entry, folder, sameSize: [] };
      items.push(item);
      if (entry.kind === 'folder' || folder === 'converted') continue;
      const file = path.join(kindFolder(modelsDir, folder), entry.path);
      item.sha256 = await index.cached(file);
      if (!item.sha256 && o.hash) {
        o.onHash?.(item);
        item.sha256 = await index.sha256(file);
      }
      if (item.sha256) item.known = known.bySha256(item.sha256);
      else item.sameSize = known.bySize(entry.size);
    }
  }
  return items;
}
