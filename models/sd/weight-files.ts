// Where a graph's external initializers point, and what they hold: shared by the LoRA bake and the int8
// UNet, which both write weights to the converted cache and point a graph into it beside the checkpoint.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { bytesOfArray, externalLocation, tensorFromProto, type TensorProto } from '../onnx/index.ts';
import { hashIndex } from '../store/hash.ts';

/** An initializer of a graph and the folder its external data is relative to (undefined: inline). */
export interface GraphWeight {
  proto: TensorProto;
  dir: string | undefined;
}

/**
 * What a set of weights is: every tensor's name, type and place, with the sha256 of the files holding
 * them (cached by size and mtime) or their inline bytes.
 */
export async function weightsIdentity(weights: ReadonlyMap<string, GraphWeight>, modelsDir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = new Map<string, string>();
  for (const [key, { proto, dir }] of weights) {
    hash.update(`${key}:${proto.dataType}:${(proto.dims ?? []).join(',')}`);
    const loc = externalLocation(proto);
    if (loc) {
      const file = path.resolve(dir ?? '', loc.file);
      let sha = files.get(file);
      if (!sha) files.set(file, (sha = await hashIndex(modelsDir).sha256(file)));
      hash.update(`@${sha}:${loc.offset}\n`);
    } else {
      hash.update(bytesOfArray(tensorFromProto(proto).data)).update('\n');
    }
  }
  return hash.digest('hex');
}

/** Whether every file holding `weights` has its sha256 in the hash index already (nothing to read for `weightsIdentity`). */
export async function weightsHashed(weights: ReadonlyMap<string, GraphWeight>, modelsDir: string): Promise<boolean> {
  const files = new Set([...weights.values()].flatMap(({ proto, dir }) => {
    const loc = externalLocation(proto);
    return loc ? [path.resolve(dir ?? '', loc.file)] : [];
  }));
  for (const file of files) if (!(await hashIndex(modelsDir).cached(file))) return false;
  return true;
}

/** An initializer's external location made relative to `root` instead of `from`. */
export function rebase(t: TensorProto, from: string | undefined, root: string): TensorProto {
  const loc = externalLocation(t);
  if (!loc) return t;
  const file = relativeFile(root, path.resolve(from ?? '', loc.file));
  return { ...t, externalData: (t.externalData ?? []).map((e) => (e.key === 'location' ? { key: e.key, value: file } : e)) };
}

/** `file` relative to `root`, with forward slashes (as ONNX external data locations are written). */
export function relativeFile(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** The deepest folder holding all of `dirs`: ORT reads external data only from inside one folder. */
export function commonDir(dirs: string[]): string {
  const split = dirs.map((d) => path.resolve(d).split(path.sep));
  let n = split[0]!.length;
  for (const s of split) {
    let i = 0;
    while (i < n && s[i] === split[0]![i]) i++;
    n = i;
  }
  return split[0]!.slice(0, n).join(path.sep) || path.sep;
}
