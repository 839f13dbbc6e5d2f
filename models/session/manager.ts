// Sessions shared across an executor's nodes and runs: one per model (path + size + mtime, or the bytes' sha256) and
// options, kept in an LRU under a memory budget. Callers hold leases; a session evicted while leased
// leaves the cache at once but is released only when its last lease ends, so a running sampler is never
// cut off.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { decodeModel } from '../onnx/proto.ts';
import { externalLocation } from '../onnx/tensor.ts';
import type { OrtSession, OrtSessionOptions } from './ort.ts';
import { createSession } from './providers.ts';
import { withThreads } from './threads.ts';

export interface SessionSpec {
  /** A .onnx path or the model's bytes. */
  model: string | Uint8Array;
  options?: OrtSessionOptions;
  /** Sessions with the same name share one worker thread (for many sessions run in turn). */
  thread?: string;
  /**
   * Released when its last lease ends instead of staying cached (a session used once per run, e.g. SD's
   * text encoder: its weights leave memory before the UNet and VAE run). Any lease asked without it keeps it cached.
   */
  transient?: boolean;
}

export interface SessionLease {
  readonly session: OrtSession;
  /** The cache key (model identity + options). */
  readonly key: string;
  /** Ends this lease; idempotent. */
  release(): Promise<void>;
}

interface Entry {
  key: string;
  session: Promise<OrtSession>;
  bytes: number;
  holders: number;
  cached: boolean;
  transient: boolean;
}

export interface SessionStats {
  hits: number;
  misses: number;
  evictions: number;
  /** Estimated bytes of the cached sessions. */
  bytes: number;
  /** Cached keys, least recently used first. */
  keys: string[];
}

/** What the cache needs to know of a model: its estimated memory and the external data files it reads. */
interface ModelFacts {
  /**
   * The model plus its external data. ORT keeps one copy of the weights (more with prepacking), so
   * this is a floor, good for ordering and budgets, not exact.
   */
  bytes: number;
  externalFiles: string[];
}

function modelFacts(model: Uint8Array): ModelFacts {
  let bytes = model.byteLength;
  const files = new Set<string>();
  for (const t of decodeModel(model).graph?.initializer ?? []) {
    const loc = externalLocation(t);
    if (!loc) continue;
    bytes += loc.length;
    files.add(loc.file);
  }
  return { bytes, externalFiles: [...files].sort() };
}

/** The folder ORT reads external data from: the one given in the options, else the model's own. */
function externalFolder(spec: SessionSpec): string {
  const given = (spec.options?.extra as { session?: Record<string, unknown> } | undefined)?.session?.model_external_initializers_file_folder_path;
  if (typeof given === 'string') return given;
  return typeof spec.model === 'string' ? dirname(resolve(spec.model)) : '.';
}

/**
 * The cache key: the model (file identity or content hash), the identity of every external data file
 * it points into (a checkpoint replaced under the same name gets a new session), and the options.
 */
function sessionKey(spec: SessionSpec, bytes: Uint8Array, facts: ModelFacts): string {
  const id = typeof spec.model === 'string' ? fileIdentity(spec.model) : `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const folder = externalFolder(spec);
  const external = facts.externalFiles.map((f) => fileIdentity(join(folder, f)));
  return [id, ...external, JSON.stringify(spec.options ?? {}), ...(spec.thread === undefined ? [] : [`thread:${spec.thread}`])].join('|');
}

function fileIdentity(path: string): string {
  const abs = resolve(path);
  try {
    const s = statSync(abs);
    return `${abs}:${s.size}:${s.mtimeMs}`;
  } catch {
    return `${abs}:missing`;
  }
}

export class SessionManager {
  private readonly entries = new Map<string, Entry>();
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };

  /** `budgetBytes`: estimated bytes the cached sessions may take before the least recently used go. */
  constructor(readonly budgetBytes = totalmem() / 2) {}

  async acquire(given: SessionSpec): Promise<SessionLease> {
    // Threads are part of the key: a session made under other thread settings is not reused.
    const spec = { ...given, options: withThreads(given.options) };
    const bytes = typeof spec.model === 'string' ? readFileSync(spec.model) : spec.model;
    const facts = modelFacts(bytes);
    const key = sessionKey(spec, bytes, facts);
    let entry = this.entries.get(key);
    if (entry) {
      this.counts.hits++;
      entry.holders++;
      entry.transient &&= spec.transient === true;
      this.entries.delete(key);
      this.entries.set(key, entry); // most recently used goes last
    } else {
      this.counts.misses++;
      // Held from the start, so a concurrent eviction cannot release it before this caller gets it.
      entry = { key, bytes: facts.bytes, holders: 1, cached: true, transient: spec.transient === true, session: createSession(spec.model, spec.options, undefined, spec.thread) };
      this.entries.set(key, entry);
      const created = entry;
      entry.session.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      await this.evict(entry);
    }
    let session: OrtSession;
    try {
      session = await entry.session;
    } catch (e) {
      entry.holders--;
      throw e;
    }
    const held = entry;
    let released = false;
    return {
      session,
      key,
      release: async () => {
        if (released) return;
        released = true;
        held.holders--;
        if (held.holders > 0) return;
        if (held.cached && held.transient) await this.drop(held);
        else if (!held.cached) await session.release();
      },
    };
  }

  stats(): SessionStats {
    const cached = [...this.entries.values()];
    return { ...this.counts, bytes: cached.reduce((a, e) => a + e.bytes, 0), keys: cached.map((e) => e.key) };
  }

  /** Drops every cached session (released now unless leased, then when the last lease ends). */
  async clear(): Promise<void> {
    for (const entry of [...this.entries.values()]) await this.drop(entry);
  }

  /** Evicts least recently used sessions (never `keep`) until the cache fits the budget. */
  private async evict(keep: Entry): Promise<void> {
    for (const entry of [...this.entries.values()]) {
      if (this.stats().bytes <= this.budgetBytes) return;
      if (entry === keep) continue;
      this.counts.evictions++;
      await this.drop(entry);
    }
  }

  private async drop(entry: Entry): Promise<void> {
    this.entries.delete(entry.key);
    entry.cached = false;
    if (entry.holders > 0) return;
    const session = await entry.session.catch(() => undefined);
    await session?.release();
  }
}

/**
 * A session of the caller's own, outside any cache: created with the process's thread settings and
 * released when its lease ends (for callers given no SessionManager: scripts, benches, one-off graphs).
 */
export async function ownSession(given: SessionSpec): Promise<SessionLease> {
  const options = withThreads(given.options);
  const session = await createSession(given.model, options, undefined, given.thread);
  let released = false;
  return {
    session,
    key: '',
    release: async () => {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
