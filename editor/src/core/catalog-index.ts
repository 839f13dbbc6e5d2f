import { type Catalog, type CatalogNode, type CatalogPort, compatibility, type Compatibility, type Component, type FeedsTable, type PortType } from '../../../protocol/index.ts';
import { componentCatalog } from './component-catalog.ts';
import { formModel, type Field } from './form-model.ts';

export type PortSide = 'in' | 'out';

export interface PaletteGroup {
  category: string;
  nodes: CatalogNode[];
}

/** Lookups over the server's catalog: the editor knows node types only from here. */
export class CatalogIndex {
  private byType: Map<string, CatalogNode>;
  /** Entries for the open document's components (`component:<id>`), rebuilt when they change. */
  private local = new Map<string, CatalogNode>();
  private components?: Record<string, Component>;
  private forms = new Map<string, Field[]>();
  private feeds: FeedsTable;

  constructor(readonly catalog: Catalog) {
    this.byType = new Map(catalog.nodes.map((n) => [n.type, n]));
    this.feeds = Object.fromEntries(Object.entries(catalog.portTypes).map(([t, p]) => [t, p.feeds]));
  }

  node(type: string): CatalogNode | undefined {
    return this.byType.get(type) ?? this.local.get(type);
  }

  /** Makes the document's components known as types; a no-op while they are the same object. */
  setComponents(components: Record<string, Component> | undefined): void {
    if (components === this.components) return;
    this.components = components;
    for (const type of this.local.keys()) this.forms.delete(type);
    this.local = componentCatalog(components, (type) => this.byType.get(type));
  }

  port(type: string, side: PortSide, name: string): CatalogPort | undefined {
    const def = this.node(type);
    return (side === 'in' ? def?.inputs : def?.outputs)?.find((p) => p.name === name);
  }

  /**
   * Whether a `from` value may feed a `to` input, by the catalog's `feeds` lists (the server's widening
   * rules), so the editor refuses exactly what the server it talks to would.
   */
  compatibility(from: PortType, to: PortType): Compatibility {
    return compatibility(from, to, this.feeds);
  }

  colour(portType: string): string {
    return this.catalog.portTypes[portType as PortType]?.colour ?? '#888';
  }

  /** A node type's colour: that of what it makes (its first output, else its first input). */
  accent(type: string): string | undefined {
    const def = this.node(type);
    const made = def?.outputs[0] ?? def?.inputs[0];
    return made ? this.colour(made.type) : undefined;
  }

  /** The param fields of a node type, built once per type. */
  fields(type: string): Field[] {
    let f = this.forms.get(type);
    if (!f) {
      const def = this.node(type);
      f = def ? formModel(def.params) : [];
      this.forms.set(type, f);
    }
    return f;
  }

  /** Palette groups in catalog order, optionally filtered by a search query and by a port to connect. */
  groups(query = '', connectable?: { side: PortSide; type: PortType }): PaletteGroup[] {
    const hits = this.search(query).filter((n) => !connectable || this.accepts(n, connectable.side, connectable.type));
    const groups = new Map<string, CatalogNode[]>();
    for (const n of hits) groups.set(n.category, [...(groups.get(n.category) ?? []), n]);
    return [...groups].map(([category, nodes]) => ({ category, nodes }));
  }

  /**
   * Nodes matching every word of the query in title, type, category or description; best matches
   * (title prefix, then title, then type) first. An empty query keeps catalog order.
   */
  search(query: string): CatalogNode[] {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return this.catalog.nodes;
    const scored: { node: CatalogNode; score: number; order: number }[] = [];
    this.catalog.nodes.forEach((node, order) => {
      const title = node.title.toLowerCase();
      const type = node.type.toLowerCase();
      const text = `${title} ${type} ${node.category.toLowerCase()} ${node.description.toLowerCase()}`;
      if (!words.every((w) => text.includes(w))) return;
      let score = 0;
      for (const w of words) {
        if (title.startsWith(w)) score += 4;
        else if (title.includes(w)) score += 3;
        else if (type.includes(w)) score += 2;
        else score += 1;
      }
      scored.push({ node, score, order });
    });
    return scored.sort((a, b) => b.score - a.score || a.order - b.order).map((s) => s.node);
  }

  /**
   * The first port of `node` that can take (side 'in': feed from) a `type` value, i.e. where a dangling
   * wire of that type can attach. `side` is the side of the dragged end: an output looks for inputs.
   */
  matchingPort(node: CatalogNode, side: PortSide, type: PortType): CatalogPort | undefined {
    if (side === 'out') return node.inputs.find((p) => this.compatibility(type, p.type).ok);
    return node.outputs.find((p) => this.compatibility(p.type, type).ok);
  }

  private accepts(node: CatalogNode, side: PortSide, type: PortType): boolean {
    return this.matchingPort(node, side, type) !== undefined;
  }
}
