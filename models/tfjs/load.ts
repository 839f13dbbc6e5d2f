// Reads a TF.js graph model (model.json + weight shards) from disk into nodes and decoded weights.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { HostTensor } from '../onnx/tensor.ts';
import { graphModelJsonSchema, type GraphModelJson, type TfNode } from './model-json.ts';
import { decodeWeightGroup } from './weights.ts';

export interface SourceFile { name: string; sha256: string; bytes: number }

export interface TfGraphModel {
  json: GraphModelJson;
  nodes: TfNode[];
  /** Const node values by node name. */
  weights: Map<string, HostTensor>;
  /** model.json first, then the shards, with their hashes (the conversion cache key is built from these). */
  files: SourceFile[];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function parseGraphModelJson(text: string): GraphModelJson {
  return graphModelJsonSchema.parse(JSON.parse(text));
}

export async function loadGraphModel(jsonPath: string): Promise<TfGraphModel> {
  const jsonBytes = await readFile(jsonPath);
  const json = parseGraphModelJson(jsonBytes.toString('utf8'));
  const files: SourceFile[] = [{ name: basename(jsonPath), sha256: sha256(jsonBytes), bytes: jsonBytes.byteLength }];
  const weights = new Map<string, HostTensor>();
  for (const group of json.weightsManifest) {
    const shards: Uint8Array[] = [];
    for (const p of group.paths) {
      const bytes = new Uint8Array(await readFile(join(dirname(jsonPath), p)));
      files.push({ name: p, sha256: sha256(bytes), bytes: bytes.byteLength });
      shards.push(bytes);
    }
    for (const [name, t] of decodeWeightGroup(group.weights, shards)) weights.set(name, t);
  }
  return { json, nodes: json.modelTopology.node, weights, files };
}

/** A node input reference: `name`, `name:1` (output 1) or `^name` (control dependency). */
export interface InputRef { node: string; output: number; control: boolean }

export function parseInputRef(ref: string): InputRef {
  if (ref.startsWith('^')) return { node: ref.slice(1), output: 0, control: true };
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1]!, output: Number(m[2]), control: false } : { node: ref, output: 0, control: false };
}

/** How many nodes of each op type the model holds, most frequent first. */
export function opInventory(nodes: readonly TfNode[]): [op: string, count: number][] {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
