import { createContext, useContext } from 'react';
import type { Api } from '../core/api.ts';
import type { CatalogIndex } from '../core/catalog-index.ts';
import type { EditorStore } from '../core/editor-store.ts';
import type { Notices } from '../core/notices.ts';
import type { RunStore } from '../core/run-store.ts';
import type { Session } from '../core/session.ts';

export interface ImageRef {
  url: string;
  label: string;
  /** Full-size download (an output PNG), when there is one. */
  full?: string;
}

/** Everything the components share; the objects are framework-free, components only render them. */
export interface Editor {
  api: Api;
  catalog: CatalogIndex;
  store: EditorStore;
  runs: RunStore;
  session: Session;
  notices: Notices;
  /** Opens the image viewer. */
  showImages(images: ImageRef[], start?: number): void;
  /** Opens the quick-add search at a screen point; an optional dangling wire gets connected. */
  quickAdd(at: { x: number; y: number }, wire?: { node: string; port: string; side: 'in' | 'out' }): void;
  openDialog(kind: DialogKind): void;
}

export type DialogKind = 'open' | 'save' | 'runs' | 'help';

export const EditorContext = createContext<Editor | null>(null);

export function useEditor(): Editor {
  const e = useContext(EditorContext);
  if (!e) throw new Error('useEditor outside <EditorContext>');
  return e;
}
