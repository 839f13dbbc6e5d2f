import { readFileSync } from 'node:fs';
import {
  decodeModel, dtypeFromOnnx, externalLocation, tensorFromProto, type GraphBuilder, type ModelProto, type TensorProto, type Value,
} from '../onnx/index.ts';
import type { PartModel } from './sd-model.ts';
import { asFloat32, type WeightSource } from './weight-source.ts';

/**
 * The weights of a built SD graph, reused to build another graph of the same part (e.g. the UNet with
 * standard-op attention for training): initializers are named by checkpoint key, so each is carried
 * over as it is, external data still pointing into the same files and half floats cast as before.
 */
export class GraphWeights implements WeightSource {
  private readonly byKey: Map<string, TensorProto>;

  constructor(model: ModelProto) {
    this.byKey = new Map((model.graph?.initializer ?? []).map((t) => [t.name!, t]));
  }

  static of(part: PartModel): GraphWeights {
    return new GraphWeights(decodeModel('bytes' in part ? part.bytes : readFileSync(part.path)));
  }

  param(b: GraphBuilder, local: string, shape: readonly number[]): Value {
    const key = b.scoped(local);
    const proto = this.byKey.get(key);
    if (!proto) throw new Error(`the model's graph has no weight ${key}`);
    if ((proto.dims ?? []).join() !== shape.join()) throw new Error(`${key}: graph shape [${proto.dims}], model expects [${shape}]`);
    const dtype = dtypeFromOnnx(proto.dataType ?? 0);
    const loc = externalLocation(proto);
    const value = loc
      ? b.externalInitializer(local, { dtype, dims: [...shape], external: loc })
      : b.initializer(local, tensorFromProto(proto));
    return asFloat32(b, value, dtype);
  }
}
