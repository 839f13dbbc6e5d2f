// A float16 copy of a float32 model for GPU providers: float32 values become float16, weights with them
// (inline ones converted, float16 ones used as stored instead of through their Cast), and the nodes the
// caller names stay in float32 between Casts (where float16 overflows or loses what matters:
// normalisation statistics, softmax, sin/cos of large arguments). Graph inputs and outputs keep their
// types, so callers feed and read float32 as before.
import { toFloat16 } from './half.ts';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './proto.ts';
import { externalLocation } from './tensor.ts';

const { FLOAT, FLOAT16, INT64, BOOL } = DataType;

/** Inputs that ONNX types as float32 whatever the data's type (Resize's roi and scales). */
const FLOAT32_INPUTS: Record<string, readonly number[]> = { Resize: [1, 2] };
const INT64_OUTPUTS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
const BOOL_OUTPUTS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

/** Which nodes compute in float32 (their float inputs cast up, float outputs cast back down). */
export type KeepFloat32 = (node: NodeProto) => boolean;

/** The element type of every value of `graph`, from its inputs, initializers and each node in order. */
export function valueTypes(graph: GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const v of graph.input ?? []) types.set(v.name!, v.type?.tensorType?.elemType ?? FLOAT);
  for (const t of graph.initializer ?? []) types.set(t.name!, t.dataType ?? FLOAT);
  for (const node of graph.node ?? []) {
    const inputs = (node.input ?? []).filter(Boolean).map((n) => types.get(n));
    const attr = (name: string) => node.attribute?.find((a) => a.name === name);
    let type: number | undefined;
    if (node.opType === 'Cast') type = attr('to')?.i;
    else if (INT64_OUTPUTS.has(node.opType!)) type = INT64;
    else if (BOOL_OUTPUTS.has(node.opType!)) type = BOOL;
    else if (node.opType === 'Constant' || node.opType === 'ConstantOfShape') type = attr('value')?.t?.dataType ?? (attr('value_ints') ? INT64 : FLOAT);
    else if (node.opType === 'Where') type = types.get(node.input![1]!);
    else type = inputs.find((t) => t !== undefined);
    for (const out of node.output ?? []) if (out) types.set(out, type ?? FLOAT);
  }
  return types;
}

/** A float32 tensor's values (inline data only). */
function floatValues(t: TensorProto): Float32Array {
  // A copy: decoded raw data may be a Buffer view (whose slice() is not a copy) at any byte offset.
  if (t.rawData?.byteLength) return new Float32Array(new Uint8Array(t.rawData).buffer);
  return Float32Array.from(t.floatData ?? []);
}

function asFloat16Tensor(t: TensorProto): TensorProto {
  const bits = toFloat16(floatValues(t));
  return { name: t.name, dims: t.dims, dataType: FLOAT16, rawData: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) };
}

function cast(input: string, output: string, to: number): NodeProto {
  return { input: [input], output: [output], name: `${output}/Cast`, opType: 'Cast', attribute: [{ name: 'to', type: 2, i: to }] };
}

/**
 * The float16 variant of `model` (a new ModelProto; `model` is not changed). `keep` picks the nodes
 * that compute in float32. float32 weights stored outside the model (external data) get a Cast to
 * float16 that ORT folds at session creation.
 */
export function toFloat16Model(model: ModelProto, keep: KeepFloat32): ModelProto {
  const graph = model.graph!;
  const types = valueTypes(graph);
  const nodes = graph.node ?? [];
  // Values read where ONNX wants float32 whatever the data type: left as they are.
  const fixed = new Set<string>();
  for (const n of nodes) for (const i of FLOAT32_INPUTS[n.opType!] ?? []) if (n.input?.[i]) fixed.add(n.input[i]);

  const out: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const graphOutputs = new Set((graph.output ?? []).map((v) => v.name!));
  /** Consumers read `alias.get(name) ?? name`: where a value now lives under another name. */
  const alias = new Map<string, string>();
  /** The float32 form of a value that is float16 now, made once. */
  const up = new Map<string, string>();
  const now = (name: string) => alias.get(name) ?? name;
  const isHalf = new Set<string>();
  const float32Of = (name: string): string => {
    const src = now(name);
    if (!isHalf.has(src)) return src;
    let f = up.get(src);
    if (!f) {
      f = `${src}/f32`;
      out.push(cast(src, f, FLOAT));
      up.set(src, f);
    }
    return f;
  };

  for (const v of graph.input ?? []) {
    if (types.get(v.name!) !== FLOAT || fixed.has(v.name!)) continue;
    out.push(cast(v.name!, `${v.name}/f16`, FLOAT16));
    alias.set(v.name!, `${v.name}/f16`);
    isHalf.add(`${v.name}/f16`);
    up.set(`${v.name}/f16`, v.name!);
  }
  for (const t of graph.initializer ?? []) {
    const name = t.name!;
    if (t.dataType === FLOAT16) isHalf.add(name);
    if (t.dataType !== FLOAT || fixed.has(name)) {
      initializers.push(t);
    } else if (externalLocation(t)) {
      initializers.push(t);
      out.push(cast(name, `${name}/f16`, FLOAT16));
      alias.set(name, `${name}/f16`);
      isHalf.add(`${name}/f16`);
      up.set(`${name}/f16`, name);
    } else {
      initializers.push(asFloat16Tensor(t));
      isHalf.add(name);
    }
  }

  for (const node of nodes) {
    const inputs = node.input ?? [];
    const outputs = node.output ?? [];
    if (keep(node)) {
      const ins = inputs.map((n) => (n && types.get(n) === FLOAT ? float32Of(n) : n && now(n)));
      // A graph output keeps its float32 name (cast down under another for float16 readers), so it is
      // not cast down and back up.
      const outs = outputs.map((o) => (o && types.get(o) === FLOAT && !graphOutputs.has(o) ? `${o}/f32` : o));
      out.push({ ...node, input: ins, output: outs });
      outputs.forEach((o, k) => {
        if (!o || types.get(o) !== FLOAT) return;
        const half = outs[k] === o ? `${o}/f16` : o;
        out.push(cast(outs[k]!, half, FLOAT16));
        if (half !== o) alias.set(o, half);
        isHalf.add(half);
        up.set(half, outs[k]!);
      });
      continue;
    }
    if (node.opType === 'Cast' && node.attribute?.find((a) => a.name === 'to')?.i === FLOAT && isHalf.has(now(inputs[0]!))) {
      // A float16 value (a stored weight, or one converted here) cast up for float32 code: use it as it is.
      alias.set(outputs[0]!, now(inputs[0]!));
      continue;
    }
    const fixedAt = FLOAT32_INPUTS[node.opType!] ?? [];
    const ins = inputs.map((n, k) => (!n ? n : fixedAt.includes(k) ? float32Of(n) : now(n)));
    const converted: NodeProto = { ...node, input: ins };
    if (node.opType === 'Cast' && node.attribute?.find((a) => a.name === 'to')?.i === FLOAT) {
      converted.attribute = node.attribute!.map((a) => (a.name === 'to' ? { ...a, i: FLOAT16 } : a));
    } else if ((node.opType === 'Constant' || node.opType === 'ConstantOfShape') && types.get(outputs[0]!) === FLOAT && !fixed.has(outputs[0]!)) {
      converted.attribute = (node.attribute ?? []).map((a) => (a.name === 'value' && a.t ? { ...a, t: asFloat16Tensor(a.t) } : a));
      if (node.opType === 'ConstantOfShape' && !node.attribute?.some((a) => a.name === 'value')) {
        converted.attribute = [{ name: 'value', type: 4, t: { dims: [1], dataType: FLOAT16, rawData: new Uint8Array(2) } }];
      }
    }
    out.push(converted);
    for (const o of outputs) if (o && types.get(o) === FLOAT && !fixed.has(o)) isHalf.add(o);
  }

  // Outputs keep their declared type: a float16 value is cast back under the output's name.
  const tail: NodeProto[] = [];
  const rename = new Map<string, string>();
  for (const v of graph.output ?? []) {
    const src = now(v.name!);
    // Made in float32 under its own name by a kept node.
    if (up.get(src) === v.name) continue;
    if (v.type?.tensorType?.elemType === FLOAT && isHalf.has(src)) rename.set(src, `${src}/f16out`);
    else if (src !== v.name) tail.push({ input: [src], output: [v.name!], name: `${v.name}/Identity`, opType: 'Identity' });
  }
  for (const node of out) {
    node.output = node.output?.map((o) => rename.get(o) ?? o);
    node.input = node.input?.map((i) => rename.get(i) ?? i);
  }
  for (const v of graph.output ?? []) {
    const src = now(v.name!);
    const half = rename.get(src);
    if (half) tail.push(cast(half, v.name!, FLOAT));
  }
  return { ...model, graph: { ...graph, node: [...out, ...tail], initializer: initializers, valueInfo: [] } };
}

