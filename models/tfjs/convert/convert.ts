// TF.js graph model -> ONNX model bytes. Walks the nodes the requested outputs depend on, in
// dependency order, and maps each TF op onto builder ops (see the op modules for the mappings).
import { GraphBuilder, type Dim } from '../../onnx/index.ts';
import { attrShape, attrType } from '../attrs.ts';
import { parseInputRef, type TfGraphModel } from '../load.ts';
import type { TfNode } from '../model-json.ts';
import { ConversionContext, type Shape, type Tensor } from './context.ts';
import { convolution, convTranspose, depthToSpace, pool } from './ops-conv.ts';
import { elementwise, isElementwise } from './ops-elementwise.ts';
import { matMul, reduce, resizeBilinear, softmax } from './ops-math.ts';
import { concat, expandDims, pack, pad, reshape, squeeze, stridedSlice, transpose } from './ops-shape.ts';

type Handler = (ctx: ConversionContext, node: TfNode) => Tensor;

const HANDLERS: Record<string, Handler> = {
  Conv2D: convolution, _FusedConv2D: convolution,
  DepthwiseConv2dNative: convolution, FusedDepthwiseConv2dNative: convolution,
  Conv2DBackpropInput: convTranspose, MaxPool: pool, AvgPool: pool, DepthToSpace: depthToSpace,
  MatMul: matMul, BatchMatMulV2: matMul, _FusedMatMul: matMul,
  Mean: reduce, Sum: reduce, Max: reduce, Min: reduce, Prod: reduce, Softmax: softmax,
  ResizeBilinear: resizeBilinear,
  Reshape: reshape, Squeeze: squeeze, ExpandDims: expandDims, ConcatV2: concat, Pack: pack,
  Pad: pad, PadV2: pad, MirrorPad: pad, Transpose: transpose, StridedSlice: stridedSlice,
};

/** Whether the converter has a mapping for a TF op (Const and Placeholder included). */
export function isSupportedOp(op: string): boolean {
  return op === 'Const' || op === 'Placeholder' || op in HANDLERS || isElementwise(op);
}

export interface ConvertOptions {
  /** ai.onnx opset (default 18: the lowest with Resize axes, loads in onnxruntime-node 1.30). */
  opset?: number;
  /** Graph input names by Placeholder name (default: the Placeholder name). */
  inputNames?: Record<string, string>;
  /** Outputs as { name: TF tensor ref }; default: the model's signature outputs, else its sink nodes. */
  outputs?: Record<string, string>;
  /** Name for unknown (-1) input dimensions (default 'batch'). */
  dynamicDim?: string;
  metadata?: Record<string, string>;
}

export interface IoInfo { name: string; shape: Shape }

export interface ConvertedModel {
  bytes: Uint8Array;
  inputs: IoInfo[];
  outputs: IoInfo[];
}

function defaultOutputs(model: TfGraphModel): Record<string, string> {
  const sig = model.json.signature?.outputs;
  if (sig && Object.keys(sig).length) {
    return Object.fromEntries(Object.entries(sig).map(([key, t]) => [key, t.name]));
  }
  const used = new Set(model.nodes.flatMap((n) => (n.input ?? []).map((r) => parseInputRef(r).node)));
  const sinks = model.nodes.filter((n) => !used.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder');
  return Object.fromEntries(sinks.map((n) => [n.name, n.name]));
}

/** Nodes needed for `roots`, each after its inputs. */
function dependencyOrder(byName: Map<string, TfNode>, roots: string[]): TfNode[] {
  const order: TfNode[] = [];
  const state = new Map<string, 'open' | 'done'>();
  for (const root of roots) {
    const stack: [string, boolean][] = [[root, false]];
    while (stack.length) {
      const [name, expanded] = stack.pop()!;
      const node = byName.get(name);
      if (!node) throw new Error(`tensor ${name} is not produced by any node`);
      if (expanded) {
        state.set(name, 'done');
        order.push(node);
        continue;
      }
      const s = state.get(name);
      if (s === 'done') continue;
      if (s === 'open') throw new Error(`graph has a cycle through ${name}`);
      state.set(name, 'open');
      stack.push([name, true]);
      for (const ref of node.input ?? []) {
        const dep = parseInputRef(ref).node;
        if (state.get(dep) !== 'done') {
          if (state.get(dep) === 'open') throw new Error(`graph has a cycle through ${dep}`);
          stack.push([dep, false]);
        }
      }
    }
  }
  return order;
}

export function convertGraphModel(model: TfGraphModel, options: ConvertOptions = {}): ConvertedModel {
  const builder = new GraphBuilder({ opset: options.opset ?? 18, metadata: options.metadata });
  const ctx = new ConversionContext(builder, model.weights);
  const byName = new Map(model.nodes.map((n) => [n.name, n]));
  const outputs = options.outputs ?? defaultOutputs(model);
  const refs = Object.entries(outputs).map(([name, ref]) => ({ name, ref: parseInputRef(ref) }));
  const order = dependencyOrder(byName, refs.map((r) => r.ref.node));

  const unsupported = [...new Set(order.filter((n) => !isSupportedOp(n.op)).map((n) => n.op))];
  if (unsupported.length) throw new Error(`unsupported TF ops: ${unsupported.join(', ')}`);

  const inputs: IoInfo[] = [];
  for (const node of order) {
    if (node.op === 'Const') {
      if (!model.weights.has(node.name)) throw new Error(`Const ${node.name} has no weight data`);
      continue;
    }
    if (node.op === 'Placeholder') {
      if (attrType(node, 'dtype') !== 'DT_FLOAT') throw new Error(`Placeholder ${node.name}: only float inputs`);
      const shape = attrShape(node, 'shape');
      if (!shape) throw new Error(`Placeholder ${node.name}: unknown rank`);
      const name = options.inputNames?.[node.name] ?? node.name;
      const dims: Dim[] = shape.map((d) => (d < 0 ? (options.dynamicDim ?? 'batch') : d));
      ctx.set(node.name, 0, { value: builder.input(name, 'float32', dims), shape });
      inputs.push({ name, shape });
      continue;
    }
    ctx.set(node.name, 0, HANDLERS[node.op]?.(ctx, node) ?? elementwise(ctx, node));
  }

  const outInfo: IoInfo[] = [];
  for (const { name, ref } of refs) {
    if (ref.output !== 0) throw new Error(`output ${name}: only first outputs of nodes are supported`);
    const t = ctx.tensor(ref.node);
    builder.output(t.value, name, 'float32');
    outInfo.push({ name, shape: t.shape });
  }
  return { bytes: builder.toBytes(), inputs, outputs: outInfo };
}
