// Typed reads of a TF node's attributes; each throws with the node name when an attribute that the
// op needs is missing, so an unexpected model fails at conversion rather than converting wrongly.
import type { TfNode } from './model-json.ts';

function attr(node: TfNode, key: string) {
  return node.attr?.[key];
}

function missing(node: TfNode, key: string): never {
  throw new Error(`${node.op} ${node.name}: attribute ${key} missing`);
}

const decodeBase64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export function attrString(node: TfNode, key: string, fallback?: string): string {
  const v = attr(node, key)?.s;
  if (v !== undefined) return decodeBase64(v);
  return fallback ?? missing(node, key);
}

export function attrStrings(node: TfNode, key: string): string[] {
  return (attr(node, key)?.list?.s ?? []).map(decodeBase64);
}

export function attrInt(node: TfNode, key: string, fallback?: number): number {
  return attr(node, key)?.i ?? fallback ?? missing(node, key);
}

export function attrInts(node: TfNode, key: string, fallback?: number[]): number[] {
  const v = attr(node, key)?.list;
  if (v) return v.i ?? [];
  return fallback ?? missing(node, key);
}

export function attrFloat(node: TfNode, key: string, fallback?: number): number {
  return attr(node, key)?.f ?? fallback ?? missing(node, key);
}

export function attrBool(node: TfNode, key: string, fallback?: boolean): boolean {
  return attr(node, key)?.b ?? fallback ?? missing(node, key);
}

export function attrType(node: TfNode, key: string, fallback?: string): string {
  return attr(node, key)?.type ?? fallback ?? missing(node, key);
}

/** A Placeholder's declared shape; -1 for unknown dimensions. */
export function attrShape(node: TfNode, key: string): number[] | undefined {
  const shape = attr(node, key)?.shape;
  if (!shape || shape.unknownRank) return undefined;
  return (shape.dim ?? []).map((d) => d.size ?? -1);
}
