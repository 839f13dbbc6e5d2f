// Finds a face model's TF.js files in node_modules, checks them against the pinned hashes, and
// converts them to ONNX bytes.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { convertGraphModel } from '../tfjs/convert/convert.ts';
import { loadGraphModel } from '../tfjs/load.ts';
import type { FaceModelSpec } from './registry.ts';

const require = createRequire(import.meta.url);

/** Bumped when the converter's output for the same source changes, so cached conversions are redone. */
export const CONVERTER_VERSION = 1;

export function packageDir(pkg: string): string {
  return dirname(require.resolve(`${pkg}/package.json`));
}

/** Cache key for a conversion: the pinned source hashes and the converter version. */
export function conversionKey(spec: FaceModelSpec): string {
  const h = createHash('sha256').update(`tfjs-to-onnx v${CONVERTER_VERSION}\n`);
  for (const f of spec.files) h.update(`${f.path} ${f.sha256}\n`);
  return h.digest('hex');
}

/** Converts a registered model from its package; throws when the files are not the pinned ones. */
export async function convertFaceModel(spec: FaceModelSpec): Promise<Uint8Array> {
  const dir = packageDir(spec.package);
  const model = await loadGraphModel(join(dir, spec.files[0]!.path));
  const pinned = new Map(spec.files.map((f) => [f.path.split('/').pop(), f.sha256]));
  for (const f of model.files) {
    const want = pinned.get(f.name);
    if (!want) throw new Error(`${spec.id}: ${f.name} is not in the model list`);
    if (want !== f.sha256) throw new Error(`${spec.id}: ${f.name} has sha256 ${f.sha256}, expected ${want} (package changed?)`);
  }
  return convertGraphModel(model, {
    inputNames: spec.inputNames,
    outputs: spec.outputs,
    metadata: { source: `${spec.package}/${spec.files[0]!.path}`, licence: spec.licence, conversion: conversionKey(spec) },
  }).bytes;
}
