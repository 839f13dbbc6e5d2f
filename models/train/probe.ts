// The concrete dtype and shape of every value of a graph for one set of feeds, found by running it
// once in onnxruntime: each value gets a Shape node and an empty slice (which carries its dtype), so
// only a few bytes per value come back however large the activations are.
import { dtypeFromOnnx } from '../onnx/dtype.ts';
import type { DType } from '../onnx/dtype.ts';
import type { TensorInfo } from '../onnx/grad/value-infos.ts';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto.ts';
import { encodeModel } from '../onnx/proto.ts';
import type { HostTensor } from '../onnx/tensor.ts';
import type { OrtSessionOptions } from '../session/ort.ts';
import { createSession } from '../session/providers.ts';
import { fromOrtTensor, toOrtTensor } from '../session/tensors.ts';

export async function probeShapes(
  model: ModelProto, feeds: Readonly<Record<string, HostTensor>>, options?: OrtSessionOptions,
): Promise<Map<string, TensorInfo>> {
  const graph = model.graph ?? {};
  const infos = new Map<string, TensorInfo>();
  for (const t of graph.initializer ?? []) infos.set(t.name!, { dtype: dtypeFromOnnx(t.dataType ?? 0), dims: t.dims ?? [] });
  for (const input of graph.input ?? []) {
    const feed = feeds[input.name!];
    if (feed) infos.set(input.name!, { dtype: feed.dtype, dims: feed.dims });
  }
  const values: string[] = [];
  // Each value's probe right after the node that makes it, so a large activation can be freed as soon
  // as its consumers ran instead of living until the end of the graph.
  const probed: NodeProto[] = [];
  for (const n of graph.node ?? []) {
    probed.push(n);
    for (const v of n.output ?? []) {
      if (!v || infos.has(v)) continue;
      const k = values.push(v) - 1;
      const [shape, flat, empty] = [`probe:shape:${k}`, `probe:flat:${k}`, `probe:empty:${k}`];
      probed.push(
        { name: shape, opType: 'Shape', input: [v], output: [shape] },
        { name: flat, opType: 'Reshape', input: [v, 'probe:minus_one'], output: [flat] },
        { name: empty, opType: 'Slice', input: [flat, 'probe:zero', 'probe:zero'], output: [empty] },
      );
    }
  }
  const outputs = values.flatMap((_, k) => [{ name: `probe:shape:${k}` }, { name: `probe:empty:${k}` }]);
  const ints = (name: string, value: bigint): TensorProto => ({
    name, dataType: 7, dims: [1], rawData: new Uint8Array(BigInt64Array.of(value).buffer),
  });
  const probe: ModelProto = {
    ...model,
    graph: {
      ...graph,
      node: probed,
      initializer: [...(graph.initializer ?? []), ints('probe:minus_one', -1n), ints('probe:zero', 0n)],
      output: outputs,
    },
  };
  const session = await createSession(encodeModel(probe), options);
  try {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrtTensor(v)]));
    const result = await session.run(ortFeeds);
    values.forEach((v, k) => {
      const dims = Array.from(fromOrtTensor(result[`probe:shape:${k}`]).data as BigInt64Array, Number);
      infos.set(v, { dtype: result[`probe:empty:${k}`].type as DType, dims });
    });
  } finally {
    await session.release();
  }
  return infos;
}
