import { type CatalogNode, type CatalogPort, COMPONENT_TYPE, type Component, type NodeInstance } from '../../../protocol/index.ts';

/** The category the palette lists components under. */
export const COMPONENT_CATEGORY = 'components';

/** The catalog type the editor looks a node up by: a component instance is typed by its definition. */
export function catalogType(node: Pick<NodeInstance, 'type' | 'component'>): string {
  return node.type === COMPONENT_TYPE ? componentType(node.component ?? '') : node.type;
}

export const componentType = (id: string): string => `${COMPONENT_TYPE}:${id}`;

type Lookup = (type: string) => CatalogNode | undefined;

/**
 * Catalog entries for a document's components, so the editor draws, wires and checks an instance like
 * any node: its ports take the types of the inner ports they map to, its params the inner params'
 * schema with the inner node's value as the default. Nested components are resolved through `lookup`.
 */
export function componentCatalog(components: Record<string, Component> | undefined, base: Lookup): Map<string, CatalogNode> {
  const out = new Map<string, CatalogNode>();
  const building = new Set<string>();
  const lookup: Lookup = (type) => {
    if (!type.startsWith(`${COMPONENT_TYPE}:`)) return base(type);
    const id = type.slice(COMPONENT_TYPE.length + 1);
    const def = components && Object.hasOwn(components, id) ? components[id] : undefined;
    if (!def || building.has(id)) return undefined; // a component containing itself is the validator's to report
    if (!out.has(type)) {
      building.add(id);
      out.set(type, build(id, def, lookup));
      building.delete(id);
    }
    return out.get(type);
  };
  for (const id of Object.keys(components ?? {})) lookup(componentType(id));
  return out;
}

function build(id: string, def: Component, lookup: Lookup): CatalogNode {
  const inner = new Map(def.nodes.map((n) => [n.id, n]));
  const innerDef = (nodeId: string) => {
    const n = inner.get(nodeId);
    return n ? lookup(catalogType(n)) : undefined;
  };
  const port = (nodeId: string, side: 'in' | 'out', name: string) => (side === 'in' ? innerDef(nodeId)?.inputs : innerDef(nodeId)?.outputs)?.find((p) => p.name === name);
  const inputs: CatalogPort[] = Object.entries(def.inputs).flatMap(([name, i]) => {
    const ports = i.targets.map((t) => port(t.node, 'in', t.port));
    const first = ports.find(Boolean);
    return first ? [{ name, type: first.type, description: i.description ?? first.description, optional: ports.every((p) => p?.optional) }] : [];
  });
  const outputs: CatalogPort[] = Object.entries(def.outputs).flatMap(([name, o]) => {
    const p = port(o.from.node, 'out', o.from.port);
    return p ? [{ name, type: p.type, description: o.description ?? p.description, optional: false }] : [];
  });
  const properties: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(def.params)) {
    const schema = (innerDef(m.node)?.params as { properties?: Record<string, Record<string, unknown>> } | undefined)?.properties?.[m.param];
    if (!schema) continue;
    const value = inner.get(m.node)?.params[m.param];
    properties[name] = { ...schema, ...(value === undefined ? {} : { default: value }) };
  }
  return {
    type: componentType(id),
    version: def.library?.version ?? 1,
    category: COMPONENT_CATEGORY,
    title: def.name,
    description: def.description ?? `Component of ${def.nodes.length} node${def.nodes.length === 1 ? '' : 's'}; double-click to edit inside`,
    inputs,
    outputs,
    params: { type: 'object', properties, additionalProperties: false },
  };
}
