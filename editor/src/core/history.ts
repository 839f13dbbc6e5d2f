import { applyPatches, enablePatches, produceWithPatches, type Draft, type Patch } from 'immer';

enablePatches();

interface Step {
  label: string;
  patches: Patch[];
  inverse: Patch[];
  /** Edits with the same key merge into this step until it is sealed (typing, dragging). */
  coalesce?: string;
}

export interface EditOptions {
  /** Consecutive edits with the same key become one undo step (until `seal()`). */
  coalesce?: string;
}

/**
 * Undo/redo over an immutable state with immer patches: each step stores only what changed, so a long
 * history of small edits on a big graph stays cheap.
 */
export class History<T extends object> {
  private current: T;
  private undoStack: Step[] = [];
  private redoStack: Step[] = [];
  private sealed = true;
  private listeners = new Set<() => void>();

  constructor(
    initial: T,
    readonly limit = 500,
  ) {
    this.current = initial;
  }

  get state(): T {
    return this.current;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  get undoLabel(): string | undefined {
    return this.undoStack.at(-1)?.label;
  }

  get redoLabel(): string | undefined {
    return this.redoStack.at(-1)?.label;
  }

  get depth(): number {
    return this.undoStack.length;
  }

  /** Applies `recipe`; returns false (and records nothing) when it changed nothing. */
  edit(label: string, recipe: (draft: Draft<T>) => void, options: EditOptions = {}): boolean {
    const [next, patches, inverse] = produceWithPatches(this.current, (d: Draft<T>) => {
      recipe(d);
    });
    if (!patches.length) return false;
    this.current = next as T;
    this.redoStack = [];
    const last = this.undoStack.at(-1);
    if (!this.sealed && last && options.coalesce && last.coalesce === options.coalesce) {
      last.patches = [...last.patches, ...patches];
      last.inverse = [...inverse, ...last.inverse];
    } else {
      this.undoStack.push({ label, patches, inverse, coalesce: options.coalesce });
      if (this.undoStack.length > this.limit) this.undoStack.shift();
    }
    this.sealed = !options.coalesce;
    this.emit();
    return true;
  }

  /** Closes the open coalescing step: the next edit starts a new one. */
  seal(): void {
    this.sealed = true;
  }

  undo(): string | undefined {
    const step = this.undoStack.pop();
    if (!step) return undefined;
    this.current = applyPatches(this.current, step.inverse) as T;
    this.redoStack.push(step);
    this.sealed = true;
    this.emit();
    return step.label;
  }

  redo(): string | undefined {
    const step = this.redoStack.pop();
    if (!step) return undefined;
    this.current = applyPatches(this.current, step.patches) as T;
    this.undoStack.push(step);
    this.sealed = true;
    this.emit();
    return step.label;
  }

  /** Replaces the state and forgets all steps. */
  reset(state: T): void {
    this.current = state;
    this.undoStack = [];
    this.redoStack = [];
    this.sealed = true;
    this.emit();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
