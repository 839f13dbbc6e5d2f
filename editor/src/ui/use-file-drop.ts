import { useCallback } from 'react';
import type { XY } from '../core/graph-edit.ts';
import { carriesGraph, isPngBytes } from '../core/graph-io.ts';
import { useEditor } from './context.ts';

const LOAD_NODE = 'image/load-images';

/**
 * Files dropped on the canvas: a graph JSON or a PNG the save node wrote opens its graph; any other
 * image is uploaded into the input folder and gets a load node pointing at it.
 */
export function useFileDrop(): (files: File[], at: XY) => Promise<void> {
  const { session, store, catalog, notices } = useEditor();
  return useCallback(
    async (files, at) => {
      for (const [i, file] of files.entries()) {
        const bytes = new Uint8Array(await file.arrayBuffer());
        const isImage = file.type.startsWith('image/') || isPngBytes(bytes);
        if (!isImage || (isPngBytes(bytes) && carriesGraph(bytes))) {
          session.openFile(bytes, file.name);
          return;
        }
        const path = await session.upload(file, file.name);
        if (!path) continue;
        if (!catalog.node(LOAD_NODE)) {
          notices.push('info', `Uploaded ${file.name} as ${path}`);
          continue;
        }
        store.addNode(LOAD_NODE, { x: at.x + i * 30, y: at.y + i * 30 }, { path });
        notices.push('success', `Uploaded ${file.name}: added a load node for it`);
      }
    },
    [session, store, catalog, notices],
  );
}
