import { z } from 'zod';
import type { Graph } from '../../../runtime/graph-format.ts';
import { readGraph } from './graph-io.ts';

/** The working graph and viewport kept in localStorage, so a reload (or a crash) loses nothing. */
const KEY = 'facechain.editor.draft.v1';

const ViewportSchema = z.object({ x: z.number(), y: z.number(), zoom: z.number() });
const DraftSchema = z.object({
  graph: z.unknown(),
  viewport: ViewportSchema.optional(),
  /** Which server graph this draft was opened from or saved as, for "Save" without asking again. */
  savedAs: z.string().optional(),
  /** The last run started from this editor: a reload picks up its state and outputs. */
  runId: z.string().optional(),
});
export type Viewport = z.infer<typeof ViewportSchema>;
export interface Draft {
  graph: Graph;
  viewport?: Viewport;
  savedAs?: string;
  runId?: string;
}

type Store = Pick<Storage, 'getItem' | 'setItem'>;

export function saveDraft(storage: Store, draft: Draft): boolean {
  try {
    storage.setItem(KEY, JSON.stringify(draft));
    return true;
  } catch {
    // Quota exceeded or storage disabled: the editor keeps working, only without the safety net.
    return false;
  }
}

/** The saved draft, or undefined when there is none or it no longer reads (it is then ignored, not fatal). */
export function loadDraft(storage: Store): Draft | undefined {
  const text = storage.getItem(KEY);
  if (!text) return undefined;
  try {
    const d = DraftSchema.parse(JSON.parse(text));
    return { graph: readGraph(d.graph), viewport: d.viewport, savedAs: d.savedAs, runId: d.runId };
  } catch {
    return undefined;
  }
}
