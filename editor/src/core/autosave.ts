import { z } from 'zod';
import type { Graph } from '../../../protocol/index.ts';
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

/** Where a draft that no longer reads is moved aside: the graph opened instead autosaves over KEY. */
export const UNREADABLE_DRAFT_KEY = 'facechain.editor.draft.unreadable';

export type DraftLoad =
  | { kind: 'none' }
  | { kind: 'draft'; draft: Draft }
  /** Made by a newer editor, or damaged; `kept` says whether the raw text is under UNREADABLE_DRAFT_KEY. */
  | { kind: 'unreadable'; problem: string; kept: boolean };

function write(storage: Store, key: string, text: string): boolean {
  try {
    storage.setItem(key, text);
    return true;
  } catch {
    // Quota exceeded or storage disabled: the editor keeps working, only without the safety net.
    return false;
  }
}

export function saveDraft(storage: Store, draft: Draft): boolean {
  return write(storage, KEY, JSON.stringify(draft));
}

function readDraft(text: string): Draft {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`it is not JSON (${(e as Error).message})`);
  }
  const d = DraftSchema.safeParse(doc);
  if (!d.success) throw new Error(`it is damaged:\n${z.prettifyError(d.error)}`);
  return { graph: readGraph(d.data.graph), viewport: d.data.viewport, savedAs: d.data.savedAs, runId: d.data.runId };
}

/** The saved draft; one that no longer reads is first copied to UNREADABLE_DRAFT_KEY, never just dropped. */
export function loadDraft(storage: Store): DraftLoad {
  const text = storage.getItem(KEY);
  if (!text) return { kind: 'none' };
  try {
    return { kind: 'draft', draft: readDraft(text) };
  } catch (e) {
    return { kind: 'unreadable', problem: (e as Error).message, kept: write(storage, UNREADABLE_DRAFT_KEY, text) };
  }
}
