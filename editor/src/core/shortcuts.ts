/**
 * Keyboard shortcuts as data: the help overlay lists the same table the key handler reads. Copy, cut and
 * paste go through the browser's clipboard events instead (they carry the clipboard text).
 */
export type Command =
  | 'undo'
  | 'redo'
  | 'delete'
  | 'selectAll'
  | 'duplicate'
  | 'run'
  | 'cancel'
  | 'save'
  | 'open'
  | 'fitView'
  | 'help';

export interface KeyStroke {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

interface Binding {
  /** Primary modifier: Ctrl, or Cmd on macOS. */
  mod?: boolean;
  shift?: boolean;
  key: string;
  command: Command;
}

const BINDINGS: Binding[] = [
  { mod: true, key: 'z', command: 'undo' },
  { mod: true, shift: true, key: 'z', command: 'redo' },
  { mod: true, key: 'y', command: 'redo' },
  { key: 'Delete', command: 'delete' },
  { key: 'Backspace', command: 'delete' },
  { mod: true, key: 'a', command: 'selectAll' },
  { mod: true, key: 'd', command: 'duplicate' },
  { mod: true, key: 'Enter', command: 'run' },
  { mod: true, shift: true, key: 'Enter', command: 'cancel' },
  { mod: true, key: 's', command: 'save' },
  { mod: true, key: 'o', command: 'open' },
  { key: 'f', command: 'fitView' },
  { shift: true, key: '?', command: 'help' },
];

export const SHORTCUT_HELP: { keys: string; what: string }[] = [
  { keys: 'Ctrl+Z / Ctrl+Shift+Z, Ctrl+Y', what: 'Undo / redo' },
  { keys: 'Ctrl+C, Ctrl+X, Ctrl+V', what: 'Copy, cut, paste nodes (as graph JSON; paste a graph file too)' },
  { keys: 'Ctrl+D', what: 'Duplicate the selection' },
  { keys: 'Delete / Backspace', what: 'Delete the selection' },
  { keys: 'Ctrl+A', what: 'Select all' },
  { keys: 'Shift+drag, Ctrl+click', what: 'Box select, add to the selection' },
  { keys: 'Double-click or right-click canvas', what: 'Quick add a node (drop a wire on the canvas: add a node that takes it)' },
  { keys: 'Ctrl+Enter', what: 'Run the graph' },
  { keys: 'Ctrl+Shift+Enter', what: 'Cancel the run' },
  { keys: 'Escape', what: 'Close a dialog or menu' },
  { keys: 'Ctrl+S, Ctrl+O', what: 'Save on the server, open a graph' },
  { keys: 'F', what: 'Fit the graph in view' },
  { keys: '?', what: 'This help' },
];

export function commandFor(e: KeyStroke, mac: boolean): Command | undefined {
  const mod = mac ? e.metaKey : e.ctrlKey;
  if (e.altKey) return undefined;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  for (const b of BINDINGS) {
    if (b.key.toLowerCase() !== key.toLowerCase() && b.key !== key) continue;
    if (!!b.mod !== mod) continue;
    // '?' needs Shift on most layouts; other bindings must match Shift exactly.
    if (b.key !== '?' && !!b.shift !== e.shiftKey) continue;
    return b.command;
  }
  return undefined;
}

/** Typing in a field must not delete nodes or trigger single-key shortcuts. */
export function isTextTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const el = target as HTMLElement;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (el as HTMLInputElement).type;
  return !['checkbox', 'radio', 'range', 'button', 'color'].includes(type);
}
