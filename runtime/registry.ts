import { z } from 'zod';
import { FEEDS, PORT_TYPES, PORT_TYPE_NAMES, CatalogSchema, type Catalog, type PortNames } from '../protocol/index.ts';
import type { AnyNodeDefinition } from './node.ts';

/** The node types a runtime knows. Instances are cheap; tests build their own. */
export class NodeRegistry {
  private defs = new Map<string, AnyNodeDefinition>();
  private catalogCache: Catalog | undefined;

  constructor(defs: Iterable<AnyNodeDefinition> = []) {
    for (const d of defs) this.register(d);
  }

  register(def: AnyNodeDefinition): this {
    if (this.defs.has(def.type)) throw new Error(`Node type "${def.type}" is registered twice`);
    this.defs.set(def.type, def);
    this.catalogCache = undefined;
    return this;
  }

  get(type: string): AnyNodeDefinition | undefined {
    return this.defs.get(type);
  }

  types(): string[] {
    return [...this.defs.keys()];
  }

  /** The JSON the editor builds its palette and forms from. */
  catalog(): Catalog {
    this.catalogCache ??= CatalogSchema.parse({
      portTypes: Object.fromEntries(
        PORT_TYPE_NAMES.map((t) => [
          t,
          { ...PORT_TYPES[t], feeds: [...FEEDS[t]] },
        ]),
      ),
      nodes: [...this.defs.values()]
        .sort((a, b) => a.category.localeCompare(b.category) || a.title.localeCompare(b.title))
        .map((d) => ({
          type: d.type,
          version: d.version,
          category: d.category,
          title: d.title,
          description: d.description,
          inputs: Object.entries(d.inputs).map(([name, p]) => ({ name, optional: false, ...p })),
          outputs: Object.entries(d.outputs).map(([name, p]) => ({ name, optional: false, ...p })),
          params: z.toJSONSchema(d.params, { io: 'input', unrepresentable: 'any' }),
        })),
    });
    return this.catalogCache;
  }
}

/** Port and param names from a node registry. */
export function registryPorts(registry: NodeRegistry): PortNames {
  return (type) => {
    const def = registry.get(type);
    return def && { inputs: Object.keys(def.inputs), outputs: Object.keys(def.outputs), params: Object.keys(def.params.shape) };
  };
}
