// The concrete dtype and shape of every value of a graph for one set of feeds, found by running it
// once in onnxruntime: each value gets a Shape node and an empty slice (which carries its dtype), so
// only a few bytes per value come back however large the activations are. With `segmentOf` the graph
// runs cut by cut (models/onnx/grad/cut.ts), each as its own session fed the values the earlier cuts
// handed on, so no run holds more than one cut's activations (a whole SD1.5 UNet forward at 512 px
// does not fit beside it).
import { dtypeFromOnnx, type DType } from '../onnx/dtype.ts';
import { cutGraph, valueInfo, type GraphCut } from '../onnx/grad/cut.ts';
import type { TensorInfo } from '../onnx/grad/value-infos.ts';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto.ts';
import { encodeModel } from '../onnx/proto.ts';
import type { HostTensor } from '../onnx/tensor.ts';
import type { OrtSessionOptions } from '../session/ort.ts';
import { createSession } from '../session/providers.ts';
import { fromOrtTensor, toOrtTensor } from '../session/tensors.ts';

const ints = (name: string, value: bigint): TensorProto => ({
  name, dataType: 7, dims: [1], rawData: new Uint8Array(BigInt64Array.of(value).buffer),
});

export async function probeShapes(
  model: ModelProto, feeds: Readonly<Record<string, HostTensor>>, options?: OrtSessionOptions, segmentOf?: (node: NodeProto) => string,
): Promise<Map<string, TensorInfo>> {
  const graph = model.graph ?? {};
  const infos = new Map<string, TensorInfo>();
  for (const t of graph.initializer ?? []) infos.set(t.name!, { dtype: dtypeFromOnnx(t.dataType ?? 0), dims: t.dims ?? [] });
  for (const input of graph.input ?? []) {
    const feed = feeds[input.name!];
    if (feed) infos.set(input.name!, { dtype: feed.dtype, dims: feed.dims });
  }
  const cuts = cutGraph(graph, segmentOf, new Set());
  // Values handed from one cut to the next, dropped after the last cut that reads them.
  const values = new Map<string, HostTensor>(Object.entries(feeds));
  const lastRead = new Map<string, number>();
  cuts.forEach((c, k) => c.inputs.forEach((v) => lastRead.set(v, k)));
  for (const [k, cut] of cuts.entries()) {
    const handed = await probeCut(model, cut, infos, values, options);
    for (const [v, t] of handed) values.set(v, t);
    for (const v of cut.inputs) if (lastRead.get(v) === k && !(v in feeds)) values.delete(v);
  }
  return infos;
}

/** Runs one cut: records the dtype and shape of every value it makes, returns the values it hands on. */
async function probeCut(
  model: ModelProto, cut: GraphCut, infos: Map<string, TensorInfo>, values: ReadonlyMap<string, HostTensor>, options?: OrtSessionOptions,
): Promise<Map<string, HostTensor>> {
  const probed: string[] = [];
  // Each value's probe right after the node that makes it, so a large activation can be freed as soon
  // as its consumers ran instead of living until the end of the graph.
  const nodes: NodeProto[] = [];
  for (const n of cut.nodes) {
    nodes.push(n);
    for (const v of n.output ?? []) {
      if (!v || infos.has(v)) continue;
      const k = probed.push(v) - 1;
      const [shape, flat, empty] = [`probe:shape:${k}`, `probe:flat:${k}`, `probe:empty:${k}`];
      nodes.push(
        { name: shape, opType: 'Shape', input: [v], output: [shape] },
        { name: flat, opType: 'Reshape', input: [v, 'probe:minus_one'], output: [flat] },
        { name: empty, opType: 'Slice', input: [flat, 'probe:zero', 'probe:zero'], output: [empty] },
      );
    }
  }
  const graph = model.graph ?? {};
  const inputInfo = (v: string) => {
    const i = infos.get(v);
    if (!i) throw new Error(`graph input ${v} is not fed`);
    return valueInfo(v, i);
  };
  const probe: ModelProto = {
    ...model,
    graph: {
      ...graph,
      node: nodes,
      initializer: [...cut.initializers, ints('probe:minus_one', -1n), ints('probe:zero', 0n)],
      input: cut.inputs.map(inputInfo),
      output: [...cut.outputs.map((name) => ({ name })), ...probed.flatMap((_, k) => [{ name: `probe:shape:${k}` }, { name: `probe:empty:${k}` }])],
      valueInfo: [],
    },
  };
  const session = await createSession(encodeModel(probe), options);
  try {
    const result = await session.run(Object.fromEntries(cut.inputs.map((v) => [v, toOrtTensor(values.get(v)!)])));
    probed.forEach((v, k) => {
      const dims = Array.from(fromOrtTensor(result[`probe:shape:${k}`]!).data as BigInt64Array, Number);
      infos.set(v, { dtype: result[`probe:empty:${k}`]!.type as DType, dims });
    });
    return new Map(cut.outputs.map((v) => [v, fromOrtTensor(result[v]!)]));
  } finally {
    await session.release();
  }
}
