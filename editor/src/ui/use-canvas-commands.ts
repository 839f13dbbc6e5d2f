import { useReactFlow } from '@xyflow/react';
import { useEffect, type RefObject } from 'react';
import type { Graph } from '../../../protocol/index.ts';
import { topLeft } from '../core/clipboard.ts';
import { graphFromText, graphToText } from '../core/graph-io.ts';
import { commandFor, isTextTarget, type Command } from '../core/shortcuts.ts';
import { useEditor } from './context.ts';

/** Commands that work while typing in a field. */
const IN_FIELDS: Command[] = ['run', 'cancel', 'save'];
const PASTE_OFFSET = 40;

/** Window-level keyboard shortcuts and clipboard events for the canvas (see core/shortcuts.ts). */
export function useCanvasCommands(pointer: RefObject<{ x: number; y: number } | undefined>): void {
  const editor = useEditor();
  const rf = useReactFlow();

  useEffect(() => {
    const { store, session, notices } = editor;
    const mac = /Mac|iPhone|iPad/.test(navigator.userAgent);

    /** Where pasted nodes go: under the mouse when it is over the canvas, else next to the originals. */
    const pasteAt = (fragment: Graph) => {
      if (pointer.current) return rf.screenToFlowPosition(pointer.current);
      const at = topLeft(fragment);
      return { x: at.x + PASTE_OFFSET, y: at.y + PASTE_OFFSET };
    };

    const run = (cmd: Command) => {
      switch (cmd) {
        case 'undo':
          store.undo();
          break;
        case 'redo':
          store.redo();
          break;
        case 'delete':
          store.deleteSelection();
          break;
        case 'selectAll':
          store.selectAll();
          break;
        case 'duplicate':
          store.duplicateSelection();
          break;
        case 'run':
          void session.run();
          break;
        case 'cancel':
          void session.cancel();
          break;
        case 'save': {
          const id = session.getSnapshot().savedAs;
          if (id) void session.saveToServer(id);
          else editor.openDialog('save');
          break;
        }
        case 'open':
          editor.openDialog('open');
          break;
        case 'fitView':
          void rf.fitView({ padding: 0.12, maxZoom: 1.1, duration: 200 });
          break;
        case 'help':
          editor.openDialog('help');
          break;
      }
    };

    const onKey = (e: KeyboardEvent) => {
      // Dialogs and menus own the keyboard while open.
      if (document.querySelector('.fc-modal, .fc-popup')) return;
      const cmd = commandFor(e, mac);
      if (!cmd || (isTextTarget(e.target) && !IN_FIELDS.includes(cmd))) return;
      e.preventDefault();
      run(cmd);
    };

    const textSelected = () => (window.getSelection()?.toString() ?? '') !== '';
    const onCopy = (e: ClipboardEvent) => {
      if (isTextTarget(e.target) || textSelected() || !e.clipboardData) return;
      const fragment = store.copySelection();
      if (!fragment) return;
      e.clipboardData.setData('text/plain', graphToText(fragment));
      e.preventDefault();
    };
    const onCut = (e: ClipboardEvent) => {
      onCopy(e);
      if (e.defaultPrevented) store.deleteSelection();
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isTextTarget(e.target) || document.querySelector('.fc-modal')) return;
      const text = e.clipboardData?.getData('text/plain');
      if (!text?.trim().startsWith('{')) return;
      e.preventDefault();
      try {
        const fragment = graphFromText(text);
        store.paste(fragment, pasteAt(fragment));
      } catch (err) {
        notices.push('warn', `Cannot paste: ${(err as Error).message}`);
      }
    };

    window.addEventListener('keydown', onKey);
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCut);
    document.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('keydown', onKey);
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('cut', onCut);
      document.removeEventListener('paste', onPaste);
    };
  }, [editor, rf, pointer]);
}
