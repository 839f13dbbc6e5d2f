import { type Graph, type GraphList, type LibraryItem, nestedComponents, type RunSummary } from '../../../protocol/index.ts';
import type { Api } from './api.ts';
import type { XY } from './graph-edit.ts';
import { loadDraft, saveDraft, UNREADABLE_DRAFT_KEY, type Draft, type Viewport } from './autosave.ts';
import type { EditorStore } from './editor-store.ts';
import { GraphOpenError, graphFromFile, layoutMissing, readGraph, unknownTypes, type Embedded } from './graph-io.ts';
import type { Notices } from './notices.ts';
import type { RunStore } from './run-store.ts';

export interface SessionState {
  /** The server graph id this document was opened from or saved as: Ctrl+S saves there. */
  savedAs?: string;
  /** Why the last open failed, shown until dismissed (the canvas keeps the previous graph). */
  openError?: { title: string; message: string };
  /** Bumped when the view should fit the (new) graph. */
  fitRequest: number;
  /** The server's component library, for the palette. */
  library?: LibraryItem[];
}

type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem'>;

const AUTOSAVE_MS = 400;

/**
 * What the toolbar, menus and drops do, free of React: opening from every source with clear errors,
 * saving, running, and the localStorage autosave.
 */
export class Session {
  private state: SessionState = { fitRequest: 0 };
  private listeners = new Set<() => void>();
  private autosaveTimer?: ReturnType<typeof setTimeout>;
  private viewport?: Viewport;
  /** Where the user left the autosaved draft: the canvas starts there. */
  draftViewport?: Viewport;
  /** The canvas sets its viewport for a graph about to open (before any node of it renders). */
  beforeOpen?: (graph: Graph) => void;

  constructor(
    readonly api: Api,
    readonly store: EditorStore,
    readonly runs: RunStore,
    readonly notices: Notices,
    private readonly storage: Storage,
  ) {
    store.history.subscribe(() => this.scheduleAutosave());
  }

  getSnapshot = (): SessionState => this.state;

  /** Reloads the library list (the palette's "library" category). */
  async refreshLibrary(): Promise<void> {
    try {
      this.set({ library: await this.api.library() });
    } catch (e) {
      this.notices.push('error', `The component library cannot be listed: ${(e as Error).message}`);
    }
  }

  /** Saves a component of the document to the library under its id, as the next version. */
  async saveToLibrary(componentId: string): Promise<void> {
    const all = this.store.doc.components ?? {};
    const def = all[componentId];
    if (!def) return;
    const libraryId = def.library?.id ?? componentId;
    try {
      const saved = await this.api.saveComponent(libraryId, def, nestedComponents(all, def));
      // The document's copy now is that version.
      this.store.updateComponent(componentId, await this.api.libraryComponent(libraryId));
      this.notices.push('info', `Saved "${def.name}" to the library as version ${saved.version}`);
    } catch (e) {
      this.notices.push('error', `Not saved to the library: ${(e as Error).message}`);
    }
    await this.refreshLibrary();
  }

  /** Places an instance of a library component. */
  async addFromLibrary(id: string, at: XY): Promise<void> {
    try {
      this.store.addLibraryInstance(await this.api.libraryComponent(id), at);
    } catch (e) {
      this.notices.push('error', `Cannot add "${id}" from the library: ${(e as Error).message}`);
    }
  }

  /** Brings a document's copy of a library component to the library's version. */
  async updateFromLibrary(componentId: string): Promise<void> {
    const id = this.store.doc.components?.[componentId]?.library?.id;
    if (!id) return;
    try {
      const entry = await this.api.libraryComponent(id);
      this.store.updateComponent(componentId, entry);
      this.notices.push('info', `"${entry.component.name}" updated to version ${entry.version}`);
    } catch (e) {
      this.notices.push('error', `Cannot update from the library: ${(e as Error).message}`);
    }
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /**
   * Opens the autosaved draft, else the first example. A draft that no longer reads (newer editor,
   * damaged) is set aside by loadDraft and the user told what was wrong and where it is.
   */
  async start(): Promise<void> {
    const loaded = loadDraft(this.storage);
    if (loaded.kind === 'draft') return this.restore(loaded.draft);
    const first = (await this.api.graphs().catch(() => undefined))?.examples[0];
    if (first) await this.openExample(first.id, first.name);
    if (loaded.kind === 'unreadable') {
      const where = loaded.kept
        ? `It is kept unchanged in this browser's storage under "${UNREADABLE_DRAFT_KEY}".`
        : 'It could not be kept (the browser storage is full or disabled).';
      this.notices.push('error', `The autosaved graph could not be opened: ${loaded.problem} ${where}`, true);
    }
  }

  private restore(draft: Draft): void {
    this.store.history.reset(layoutMissing(draft.graph));
    this.draftViewport = this.viewport = draft.viewport;
    if (draft.runId) void this.runs.resume(draft.runId);
    this.set({ savedAs: draft.savedAs, fitRequest: draft.viewport ? this.state.fitRequest : this.state.fitRequest + 1 });
  }

  /** The canvas reports its viewport so the draft reopens where the user left it. */
  setViewport(v: Viewport): void {
    this.viewport = v;
    this.scheduleAutosave();
  }

  /** Opens a graph the user chose; `label` names the undo step. */
  open(graph: Graph, label: string, savedAs?: string): void {
    const missing = unknownTypes(graph, this.store.catalog);
    const laid = layoutMissing(graph);
    this.beforeOpen?.(laid);
    this.store.load(laid, label);
    this.store.seal();
    this.runs.clear();
    this.set({ savedAs, openError: undefined, fitRequest: this.state.fitRequest + 1 });
    if (missing.length) {
      this.notices.push('warn', `This server has no node type ${missing.join(', ')}: those nodes are kept but cannot run.`);
    }
  }

  /** Opens any parsed document, turning format problems into a clear message instead of a blank canvas. */
  openDocument(doc: unknown, label: string, savedAs?: string): boolean {
    try {
      this.open(readGraph(doc), label, savedAs);
      return true;
    } catch (e) {
      this.fail(`Cannot open ${label.replace(/^Open /, '')}`, e);
      return false;
    }
  }

  /** A dropped or picked file: graph JSON, or a PNG carrying one. */
  openFile(bytes: Uint8Array, fileName: string): Embedded | undefined {
    try {
      const embedded = graphFromFile(bytes);
      this.open(embedded.graph, `Open ${fileName}`);
      if (embedded.node) this.store.select([embedded.node]);
      return embedded;
    } catch (e) {
      this.fail(`Cannot open ${fileName}`, e);
      return undefined;
    }
  }

  async openExample(id: string, name = id): Promise<void> {
    await this.guard(`Cannot open the example ${name}`, async () => this.openDocument(await this.api.example(id), `Open example ${name}`));
  }

  async openUserGraph(id: string): Promise<void> {
    await this.guard(`Cannot open ${id}`, async () => this.openDocument(await this.api.userGraph(id), `Open ${id}`, id));
  }

  /** Opens the graph a past run ran, showing that run's node states and log on it. */
  async openRun(runId: string, graphName: string): Promise<void> {
    await this.guard(`Cannot open the run of ${graphName}`, async () => {
      if (this.openDocument(await this.api.runGraph(runId), `Open the run of ${graphName}`)) await this.runs.resume(runId);
    });
  }

  /** Queues an interrupted run again and opens the new run, live. */
  async requeueRun(runId: string, graphName: string): Promise<void> {
    let again: string | undefined;
    await this.guard(`Cannot queue ${graphName} again`, async () => void (again = (await this.api.requeueRun(runId)).runId));
    if (again) await this.openRun(again, graphName);
  }

  listRuns(): Promise<RunSummary[]> {
    return this.api.runs();
  }

  listGraphs(): Promise<GraphList> {
    return this.api.graphs();
  }

  async saveToServer(id: string): Promise<boolean> {
    return this.guard(`Cannot save as ${id}`, async () => {
      await this.api.saveUserGraph(id, this.store.doc);
      this.set({ savedAs: id });
      this.scheduleAutosave();
      this.notices.push('success', `Saved as "${id}" on the server`);
      return true;
    }, false);
  }

  async deleteUserGraph(id: string): Promise<void> {
    await this.guard(`Cannot delete ${id}`, async () => {
      await this.api.deleteUserGraph(id);
      if (this.state.savedAs === id) this.set({ savedAs: undefined });
    });
  }

  /** Runs the graph (or only what `targets` need); validation problems land on nodes and fields. */
  async run(targets?: string[]): Promise<void> {
    if (this.runs.active) {
      this.notices.push('info', 'A run is still going: cancel it first');
      return;
    }
    const started = await this.runs.start(this.store.doc, targets);
    if (started.ok) {
      this.store.advanceSeeds();
      this.scheduleAutosave();
    }
    else this.notices.push('error', started.message);
  }

  /** Asks the server to validate the graph without running it; problems land on nodes and fields. */
  async check(): Promise<void> {
    await this.guard('Cannot check the graph', async () => {
      const { problems } = await this.api.validate(this.store.doc);
      this.runs.setProblems(problems);
      if (problems.length) this.notices.push('warn', `${problems.length} problem${problems.length === 1 ? '' : 's'}: see the marked nodes and the log`);
      else this.notices.push('success', 'No problems: the graph can run');
    });
  }

  async cancel(): Promise<void> {
    await this.guard('Cannot cancel', () => this.runs.cancel());
  }

  /** Uploads an image into data/input/uploads and returns the path a load node takes. */
  async upload(file: Blob, name: string): Promise<string | undefined> {
    return this.guard(`Cannot upload ${name}`, async () => (await this.api.upload(file, name)).path, undefined);
  }

  dismissOpenError(): void {
    this.set({ openError: undefined });
  }

  /** Writes the draft now (also on page hide, so the last edit is never lost). */
  flushAutosave(): void {
    clearTimeout(this.autosaveTimer);
    this.autosaveTimer = undefined;
    const runId = this.runs.getSnapshot().run?.runId;
    saveDraft(this.storage, { graph: this.store.doc, viewport: this.viewport, savedAs: this.state.savedAs, runId });
  }

  private scheduleAutosave(): void {
    clearTimeout(this.autosaveTimer);
    this.autosaveTimer = setTimeout(() => this.flushAutosave(), AUTOSAVE_MS);
  }

  private fail(title: string, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof GraphOpenError) this.set({ openError: { title, message } });
    else this.notices.push('error', `${title}: ${message}`);
  }

  private async guard<T>(title: string, fn: () => Promise<T>, fallback?: T): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.fail(title, e);
      return fallback as T;
    }
  }

  private set(patch: Partial<SessionState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}
