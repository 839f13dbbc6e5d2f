import { z } from 'zod';
import { COMPONENT_TYPE, ComponentSchema, type Component, type Graph } from './graph-format.ts';

export const LIBRARY_FORMAT = 'facechain-component';

/** A library file in data/components/<id>.json: one component, its version, and the components it nests. */
export const LibraryEntrySchema = z
  .object({
    format: z.literal(LIBRARY_FORMAT),
    id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
    version: z.number().int().min(1),
    component: ComponentSchema,
    /** Definitions the component's nodes refer to (nested components), by id. */
    components: z.record(z.string(), ComponentSchema).default({}),
  })
  .strict();
export type LibraryEntry = z.infer<typeof LibraryEntrySchema>;

/** What the editor sends to save a component: its definition and those it nests. */
export const LibrarySaveSchema = LibraryEntrySchema.pick({ component: true, components: true });

/** The entry a save writes: the next version after what the library had. */
export function nextEntry(id: string, previous: LibraryEntry | undefined, save: z.infer<typeof LibrarySaveSchema>): LibraryEntry {
  const version = (previous?.version ?? 0) + 1;
  return { format: LIBRARY_FORMAT, id, version, component: { ...save.component, library: { id, version } }, components: save.components };
}

/** The components a definition refers to, transitively (to save it to the library with what it needs). */
export function nestedComponents(all: Record<string, Component>, root: Component): Record<string, Component> {
  const out: Record<string, Component> = {};
  const visit = (c: Component) => {
    for (const n of c.nodes) {
      const found = n.type === COMPONENT_TYPE && n.component && !out[n.component] && Object.hasOwn(all, n.component) ? all[n.component] : undefined;
      if (!found || !n.component) continue;
      out[n.component] = found;
      visit(found);
    }
  };
  visit(root);
  return out;
}

/**
 * Adds a library component's definitions to a document, returning the id its instances use. A document
 * that already holds this version reuses it; one holding another version keeps that copy (its instances
 * stay as they are until updated) and gets this one beside it, as `<id>-v<version>`.
 */
export function addLibraryComponent(doc: Graph, entry: LibraryEntry): { components: Record<string, Component>; id: string } {
  const components = { ...doc.components };
  const place = (id: string, def: Component): string => {
    const existing = Object.hasOwn(components, id) ? components[id] : undefined;
    if (!existing) return (components[id] = def), id;
    if (existing.library?.id === def.library?.id && existing.library?.version === def.library?.version) return id;
    const versioned = `${id}-v${def.library?.version ?? 1}`;
    components[versioned] = def;
    return versioned;
  };
  // Nested definitions first, so the root's nodes can be pointed at the ids they got.
  const renamed = new Map<string, string>();
  for (const [id, def] of Object.entries(entry.components)) renamed.set(id, place(id, def));
  const point = (def: Component): Component => ({
    ...def,
    nodes: def.nodes.map((n) => (n.type === COMPONENT_TYPE && n.component && renamed.has(n.component) ? { ...n, component: renamed.get(n.component)! } : n)),
  });
  for (const [id, to] of renamed) {
    const placed = components[to];
    if (placed && (to !== id || placed === entry.components[id])) components[to] = point(placed);
  }
  const id = place(entry.id, point(entry.component));
  return { components, id };
}

/** Replaces a document's copy of a library component with the library's (newer) version: every instance follows. */
export function updateFromLibrary(doc: Graph, componentId: string, entry: LibraryEntry): Record<string, Component> {
  const { components, id } = addLibraryComponent({ ...doc, components: Object.fromEntries(Object.entries(doc.components ?? {}).filter(([k]) => k !== componentId)) }, entry);
  const added = components[id];
  if (added) components[componentId] = added; // placed by addLibraryComponent
  if (id !== componentId) delete components[id];
  return components;
}
