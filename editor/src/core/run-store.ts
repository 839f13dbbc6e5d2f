import { type Problem, type RunEvent, type Graph, isActive, newRun, reduceRun, type RunView } from '../../../protocol/index.ts';
import { ApiError, type Api } from './api.ts';
import type { LiveStatus, PreviewFrame } from './live.ts';
import { groupProblems, type GroupedProblems } from './problems.ts';
import type { SweepRow } from '../../../protocol/index.ts';

export interface PreviewImage {
  url: string;
  width: number;
  height: number;
}

/** The latest preview batch of a node (one `ctx.preview()` call). */
export interface PreviewSet {
  runId: string;
  previewId: number;
  images: PreviewImage[];
}

export interface RunSnapshot {
  run?: RunView;
  previews: Readonly<Record<string, PreviewSet>>;
  /** Image outputs of the last finished run: node -> port -> count, for the full-size viewer. */
  outputs: { runId?: string; nodes: Readonly<Record<string, Record<string, number>>> };
  problems: GroupedProblems;
  live: LiveStatus;
  /** The id of the shown run when a server or worker stopped while it ran (it can be queued again). */
  interrupted?: string;
  /** The cells of the current run when it is a sweep (its results table, as the cells finish). */
  sweep?: { folder: string; labels: string[]; rows: SweepRow[] };
}

/** Turns preview bytes into something an <img> shows (object URLs in the browser). */
export interface ImageUrls {
  create(bytes: Uint8Array, mime: string): string;
  revoke(url: string): void;
}

/** Events of runs we started but whose id the POST has not returned yet. */
const MAX_EARLY = 2000;

/**
 * Runs as the editor sees them: start and cancel over REST, state and previews from the live stream,
 * validation problems pinned to nodes and fields.
 */
export class RunStore {
  private state: RunSnapshot = { previews: {}, outputs: { nodes: {} }, problems: groupProblems([]), live: 'connecting' };
  private listeners = new Set<() => void>();
  private starting = 0;
  private early = new Map<string, (RunEvent | PreviewFrame)[]>();

  /** Set by the owner of the live stream: asks it to replay a run's events. */
  replay?: (runId: string) => void;

  constructor(
    private readonly api: Api,
    private readonly urls: ImageUrls,
  ) {}

  getSnapshot = (): RunSnapshot => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get active(): boolean {
    return isActive(this.state.run);
  }

  /** POST /api/runs. A 400 with problems pins them on nodes and fields instead of throwing. */
  async start(graph: Graph, targets?: string[]): Promise<{ ok: true; runId: string } | { ok: false; message: string }> {
    this.starting++;
    this.set({ problems: groupProblems([]) });
    try {
      const { runId, position } = await this.api.startRun(graph, targets);
      this.set({ run: { ...newRun(runId), status: 'queued', position } });
      for (const item of this.early.get(runId) ?? []) this.apply(item);
      return { ok: true, runId };
    } catch (e) {
      if (e instanceof ApiError && e.problems.length) this.setProblems(e.problems);
      return { ok: false, message: (e as Error).message };
    } finally {
      if (--this.starting === 0) this.early.clear();
    }
  }

  /**
   * Picks a run up again from its events (after a page reload or a dropped connection): the state is
   * rebuilt from the server's replay, and finished runs get their full-size outputs back.
   */
  async resume(runId: string): Promise<void> {
    let detail;
    try {
      detail = await this.api.run(runId);
    } catch {
      // The server no longer knows it (restarted): nothing to show.
      if (this.state.run?.runId === runId) this.set({ run: undefined });
      return;
    }
    this.set({ run: newRun(runId), interrupted: detail.interrupted ? runId : undefined });
    this.replay?.(runId);
  }

  async cancel(): Promise<void> {
    const run = this.state.run;
    if (run && isActive(run)) await this.api.cancelRun(run.runId);
  }

  setProblems(problems: Problem[]): void {
    this.set({ problems: groupProblems(problems) });
  }

  /** A field the user edited no longer shows the server's complaint about its old value. */
  clearFieldProblem(nodeId: string, field: string): void {
    const node = this.state.problems.nodes[nodeId];
    if (!node?.params[field]) return;
    const params = { ...node.params };
    delete params[field];
    this.set({ problems: { ...this.state.problems, nodes: { ...this.state.problems.nodes, [nodeId]: { ...node, params } } } });
  }

  setLive(live: LiveStatus): void {
    this.set({ live });
  }

  /** Previews and outputs belong to the graph they came from: opening another one drops them. */
  clear(): void {
    for (const p of Object.values(this.state.previews)) for (const img of p.images) this.urls.revoke(img.url);
    this.set({ run: this.active ? this.state.run : undefined, previews: {}, outputs: { nodes: {} }, problems: groupProblems([]) });
  }

  handleEvent(e: RunEvent): void {
    this.route(e.runId, e);
  }

  handlePreview(frame: PreviewFrame): void {
    this.route(frame.header.runId, frame);
  }

  private route(runId: string, item: RunEvent | PreviewFrame): void {
    if (this.state.run?.runId === runId) return this.apply(item);
    if (!this.starting) return;
    const list = this.early.get(runId) ?? [];
    if (list.length < MAX_EARLY) list.push(item);
    this.early.set(runId, list);
  }

  private apply(item: RunEvent | PreviewFrame): void {
    const run = this.state.run;
    if (!run) return;
    if ('header' in item) return this.addPreview(item);
    const next = reduceRun(run, item);
    this.set({ run: next });
    if (item.type === 'run.started') this.set({ sweep: undefined });
    if (item.type === 'sweep.cell') {
      const rows = this.state.sweep?.folder === item.folder ? this.state.sweep.rows : [];
      this.set({ sweep: { folder: item.folder, labels: item.labels, rows: [...rows, item.row] } });
    }
    if (item.type === 'run.failed' && item.problems?.length) this.setProblems(item.problems);
    if (item.type === 'run.finished' || item.type === 'run.failed' || item.type === 'run.cancelled') void this.fetchOutputs(run.runId);
  }

  private addPreview({ header, image }: PreviewFrame): void {
    const old = this.state.previews[header.nodeId];
    const fresh = !old || old.runId !== header.runId || old.previewId !== header.previewId;
    if (fresh && old) for (const img of old.images) this.urls.revoke(img.url);
    const images = fresh ? [] : [...old.images];
    const previous = images[header.index];
    if (previous) this.urls.revoke(previous.url);
    images[header.index] = { url: this.urls.create(image, header.mime), width: header.width, height: header.height };
    this.set({
      previews: { ...this.state.previews, [header.nodeId]: { runId: header.runId, previewId: header.previewId, images } },
    });
  }

  /** Which image outputs the viewer can show at full size (GET /api/runs/:id lists them per port). */
  private async fetchOutputs(runId: string): Promise<void> {
    try {
      const detail = await this.api.run(runId);
      if (this.state.run?.runId !== runId) return;
      const nodes: Record<string, Record<string, number>> = {};
      for (const [id, n] of Object.entries(detail.nodes)) if (n.images && Object.keys(n.images).length) nodes[id] = n.images;
      this.set({ outputs: { runId, nodes } });
    } catch {
      // The viewer falls back to previews.
    }
  }

  private set(patch: Partial<RunSnapshot>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}
