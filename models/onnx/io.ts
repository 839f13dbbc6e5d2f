// Reading and writing .onnx files, with weights inline or in a side file (external data).
import { open, readFile, realpath, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { decodeModel, encodeModel, type ModelProto, type TensorProto } from './proto.ts';
import { externalLocation, tensorToProto, type ExternalLocation } from './tensor.ts';
import { dtypeFromOnnx } from './dtype.ts';
import { tempBeside } from '../../runtime/safe-open.ts';

export interface WriteModelOptions {
  /**
   * Move inline initializers of at least `threshold` bytes (default 1024) into `file` (default
   * '<model name>.data', next to the model). Needed when weights pass protobuf's 2 GiB limit.
   */
  externalData?: { file?: string; threshold?: number };
}

/** Writes a model; the side data file (if any) is written first, then the .onnx via a temp file and rename. */
export async function writeModel(path: string, model: ModelProto, options: WriteModelOptions = {}): Promise<void> {
  const out = options.externalData ? await moveWeightsOut(path, model, options.externalData) : model;
  await writeAtomically(path, encodeModel(out));
}

export interface ReadModelOptions {
  /** 'keep' (default) leaves external references as they are; 'load' reads their bytes into raw_data. */
  externalData?: 'keep' | 'load';
}

export async function readModel(path: string, options: ReadModelOptions = {}): Promise<ModelProto> {
  const model = decodeModel(await readFile(path));
  if (options.externalData !== 'load' || !model.graph?.initializer) return model;
  const reader = new ExternalDataReader(dirname(path));
  try {
    const initializer: TensorProto[] = [];
    for (const t of model.graph.initializer) {
      const loc = externalLocation(t);
      initializer.push(loc ? { ...inlineFields(t), rawData: await reader.read(loc) } : t);
    }
    return { ...model, graph: { ...model.graph, initializer } };
  } finally {
    await reader.close();
  }
}

/** Reads external tensor data relative to a model folder, refusing locations that leave it. */
export class ExternalDataReader {
  private readonly handles = new Map<string, FileHandle>();

  constructor(private readonly modelDir: string) {}

  /** The bytes at `loc`, read into the start of `into` when given (at least `loc.length` long). */
  async read(loc: ExternalLocation, into?: Uint8Array): Promise<Uint8Array> {
    const handle = await this.handle(loc.file);
    const bytes = into ? into.subarray(0, loc.length) : new Uint8Array(loc.length);
    const { bytesRead } = await handle.read(bytes, 0, loc.length, loc.offset);
    if (bytesRead !== loc.length) throw new Error(`external data ${loc.file}: wanted ${loc.length} bytes at ${loc.offset}, file ends after ${bytesRead}`);
    return bytes;
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h.close()));
    this.handles.clear();
  }

  private async handle(file: string): Promise<FileHandle> {
    const known = this.handles.get(file);
    if (known) return known;
    const path = await resolveInside(this.modelDir, file);
    const handle = await open(path, 'r');
    this.handles.set(file, handle);
    return handle;
  }
}

/** Resolves `file` under `dir` as ORT does: no absolute paths, no `..` out, no symlinks out. */
export async function resolveInside(dir: string, file: string): Promise<string> {
  if (isAbsolute(file)) throw new Error(`external data location ${file} is absolute`);
  const path = resolve(dir, file);
  const [realDir, realPath] = await Promise.all([realpath(dir), realpath(path)]);
  if (!isWithin(realDir, realPath)) throw new Error(`external data location ${file} leaves the model folder`);
  return path;
}

export function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

async function moveWeightsOut(path: string, model: ModelProto, o: NonNullable<WriteModelOptions['externalData']>): Promise<ModelProto> {
  const file = o.file ?? `${basename(path)}.data`;
  const threshold = o.threshold ?? 1024;
  const dataPath = join(dirname(path), file);
  // A new file under a random name ('wx' never opens a file or link already there), renamed into place.
  const tmp = tempBeside(dataPath);
  const handle = await open(tmp, 'wx');
  let offset = 0;
  try {
    const initializer: TensorProto[] = [];
    for (const t of model.graph?.initializer ?? []) {
      const raw = t.rawData;
      if (!raw || raw.byteLength < threshold) {
        initializer.push(t);
        continue;
      }
      // 64-byte alignment lets readers map the file and view tensors in place.
      offset = Math.ceil(offset / 64) * 64;
      await handle.write(raw, 0, raw.byteLength, offset);
      const external = { file, offset, length: raw.byteLength };
      initializer.push(tensorToProto(t.name ?? '', { dtype: dtypeFromOnnx(t.dataType ?? 0), dims: t.dims ?? [], external }));
      offset += raw.byteLength;
    }
    await handle.close();
    await rename(tmp, dataPath);
    return { ...model, graph: { ...model.graph, initializer } };
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

function inlineFields(t: TensorProto): TensorProto {
  const { externalData: _e, dataLocation: _d, ...rest } = t;
  return rest;
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempBeside(path);
  await writeFile(tmp, bytes, { flag: 'wx' });
  await rename(tmp, path);
}
