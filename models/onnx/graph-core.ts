// The core of the graph builder: values, initializers, nodes, naming scopes, and the model it makes.
// Typed op helpers live in builder.ts (GraphBuilder extends GraphCore).
import { arrayFromValues, dtypeOfArray, onnxDataType, type DType, type TypedArray } from './dtype.ts';
import { encodeModel, AttributeType, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.ts';
import { checkTensor, isExternal, tensorToProto, type ExternalTensor, type HostTensor } from './tensor.ts';

/** A dimension: a size, or a name for a dynamic size ('batch', 'tokens'). */
export type Dim = number | string;

/** A handle on a value in the graph. dtype/shape are known for inputs and initializers and propagated where easy. */
export interface Value {
  readonly name: string;
  readonly dtype?: DType;
  readonly shape?: readonly Dim[];
}

/** Attribute values that need saying explicitly (plain numbers are INT when whole, FLOAT otherwise). */
export type TaggedAttr =
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; value: HostTensor }
  | { kind: 'graph'; value: GraphProto };

export type AttrValue = number | bigint | string | number[] | string[] | TaggedAttr;

/** Attributes by name; undefined entries are left out, so optional attributes can be passed through. */
export type Attrs = Record<string, AttrValue | undefined>;

export const attr = {
  float: (value: number): TaggedAttr => ({ kind: 'float', value }),
  floats: (value: number[]): TaggedAttr => ({ kind: 'floats', value }),
  tensor: (value: HostTensor): TaggedAttr => ({ kind: 'tensor', value }),
  graph: (value: GraphProto): TaggedAttr => ({ kind: 'graph', value }),
};

export interface OpOptions {
  /** Domain of the op ('' = ai.onnx); a new domain is imported at version 1 unless given in the constructor. */
  domain?: string;
  /** Local node name inside the current scope (default: the op type). */
  name?: string;
  /** Output dtype when it cannot be derived from the inputs. */
  dtype?: DType;
  /** Output shape, when the caller knows it. */
  shape?: readonly Dim[];
}

export interface GraphBuilderOptions {
  /** ai.onnx opset (default 21; onnxruntime-node 1.30 loads 13 and 17-26). */
  opset?: number;
  /** Other domains to import, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
  graphName?: string;
  /** Stored as the model's metadata_props. */
  metadata?: Record<string, string>;
  /** Names already taken in a graph these nodes will be merged into (e.g. a forward graph getting its backward pass). */
  reservedNames?: Iterable<string>;
}

export const DEFAULT_OPSET = 21;

// IR version that came with each opset (onnx releases); ORT wants ir_version >= what the opset needs.
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  if (opset <= 23) return 11;
  if (opset <= 25) return 12;
  return 13;
}

// Ops whose output type is not their first input's.
const FIXED_OUTPUT_DTYPE: Record<string, DType> = {
  Shape: 'int64', Size: 'int64', NonZero: 'int64', ArgMax: 'int64', ArgMin: 'int64',
  Equal: 'bool', Less: 'bool', LessOrEqual: 'bool', Greater: 'bool', GreaterOrEqual: 'bool',
  Not: 'bool', And: 'bool', Or: 'bool', Xor: 'bool', IsNaN: 'bool', IsInf: 'bool',
};

export class GraphCore {
  readonly opset: number;
  private readonly domains: Map<string, number>;
  private readonly graphName: string;
  private readonly metadata: Record<string, string>;
  private readonly nodes: NodeProto[] = [];
  private readonly initializers = new Map<string, HostTensor | ExternalTensor>();
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly constants = new Map<string, Value>();
  private readonly scopes: string[] = [];

  constructor(options: GraphBuilderOptions = {}) {
    this.opset = options.opset ?? DEFAULT_OPSET;
    this.domains = new Map(Object.entries(options.domains ?? {}));
    this.graphName = options.graphName ?? 'main';
    this.metadata = options.metadata ?? {};
    for (const n of options.reservedNames ?? []) this.names.add(n);
  }

  /** Runs `fn` with `name` appended to the naming scope ('down_blocks.0' then 'resnets.0' -> 'down_blocks.0.resnets.0'). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** The current scope as a dotted prefix ('' at top level). */
  get prefix(): string {
    return this.scopes.join('.');
  }

  /** Prefixes a local name with the current scope, the way checkpoint keys are formed. */
  scoped(name: string): string {
    return this.scopes.length ? `${this.prefix}.${name}` : name;
  }

  /** A graph input; without `dims` it takes any shape. */
  input(name: string, dtype: DType, dims?: readonly Dim[]): Value {
    this.claim(name);
    this.inputs.push(valueInfo(name, dtype, dims));
    return { name, dtype, shape: dims };
  }

  /**
   * A weight. `name` is scoped. A bare typed array needs `dims` unless it is 1-D; a Uint16Array is
   * uint16 unless given as { dtype: 'float16', dims, data }.
   */
  initializer(name: string, data: TypedArray | HostTensor, dims?: number[]): Value {
    const tensor: HostTensor = ArrayBuffer.isView(data)
      ? { dtype: dtypeOfArray(data), dims: dims ?? [data.length], data }
      : dims ? { ...data, dims } : data;
    return this.addInitializer(this.scoped(name), tensor);
  }

  /** A weight whose bytes stay in a file next to the model (e.g. inside a .safetensors). `name` is scoped. */
  externalInitializer(name: string, tensor: ExternalTensor): Value {
    return this.addInitializer(this.scoped(name), tensor);
  }

  /**
   * A constant from numbers (a scalar when `values` is a number, else 1-D unless `dims` say otherwise).
   * Identical small constants are shared.
   */
  constant(values: number | bigint | readonly (number | bigint)[], dtype: DType = 'float32', dims?: number[]): Value {
    const list = typeof values === 'object' ? values : [values];
    const shape = dims ?? (typeof values === 'object' ? [list.length] : []);
    const key = list.length <= 64 ? `${dtype}[${shape}]:${list.join(',')}` : undefined;
    const cached = key ? this.constants.get(key) : undefined;
    if (cached) return cached;
    const value = this.addInitializer(this.unique(`/const`), { dtype, dims: shape, data: arrayFromValues(dtype, list) });
    if (key) this.constants.set(key, value);
    return value;
  }

  /** An int64 1-D constant, as shape/axes/starts inputs want. */
  ints(values: readonly number[]): Value {
    return this.constant(values, 'int64');
  }

  /** Adds one node with one output. `null` inputs are left empty (omitted optional inputs). */
  op(opType: string, inputs: readonly (Value | null | undefined)[], attrs: Attrs = {}, options: OpOptions = {}): Value {
    return this.opN(opType, inputs, 1, attrs, options)[0]!;
  }

  /** Adds one node with `outputs` outputs (a count, or local names). */
  opN(
    opType: string,
    inputs: readonly (Value | null | undefined)[],
    outputs: number | readonly string[],
    attrs: Attrs = {},
    options: OpOptions = {},
  ): Value[] {
    const domain = options.domain ?? '';
    if (domain && !this.domains.has(domain)) this.domains.set(domain, 1);
    const nodeName = this.unique(`${this.scopes.length ? `${this.prefix}/` : '/'}${options.name ?? opType}`);
    this.nodeNames.add(nodeName);
    const outputNames = typeof outputs === 'number'
      ? Array.from({ length: outputs }, (_, i) => (outputs === 1 ? nodeName : `${nodeName}:${i}`))
      : outputs.map((n) => this.scoped(n));
    for (const n of outputNames) this.claim(n);
    this.nodes.push({
      name: nodeName,
      opType,
      domain: domain || undefined,
      input: trimOptional(inputs.map((v) => v?.name ?? '')),
      output: outputNames,
      attribute: Object.entries(attrs).flatMap(([k, v]) => (v === undefined ? [] : [attributeProto(k, v)])),
    });
    const dtype = options.dtype ?? FIXED_OUTPUT_DTYPE[opType] ?? inputs.find((v) => v?.dtype)?.dtype;
    return outputNames.map((name) => ({ name, dtype, shape: options.shape }));
  }

  /** Marks `value` as a graph output, named `name` (an Identity is added when the names differ). */
  output(value: Value, name: string = value.name, dtype?: DType): Value {
    const out = name === value.name ? value : this.renamed(value, name);
    const elemType = dtype ?? out.dtype;
    if (!elemType) throw new Error(`output ${name}: dtype unknown, pass it to output()`);
    // Unknown shapes are left out: a declared [] would mean scalar.
    this.outputs.push(valueInfo(name, elemType, out.shape));
    return out;
  }

  toGraph(): GraphProto {
    if (this.outputs.length === 0) throw new Error(`graph ${this.graphName} has no outputs`);
    return {
      name: this.graphName,
      node: this.nodes,
      initializer: [...this.initializers].map(([name, t]): TensorProto => tensorToProto(name, t)),
      input: this.inputs,
      output: this.outputs,
    };
  }

  toModel(): ModelProto {
    return {
      irVersion: irVersionFor(this.opset),
      producerName: 'facechain-studio',
      opsetImport: [{ domain: '', version: this.opset }, ...[...this.domains].map(([domain, version]) => ({ domain, version }))],
      graph: this.toGraph(),
      metadataProps: Object.entries(this.metadata).map(([key, value]) => ({ key, value })),
    };
  }

  toBytes(): Uint8Array {
    return encodeModel(this.toModel());
  }

  /** Bytes of initializer data held in memory / pointed to in files. */
  get weightBytes(): { inline: number; external: number } {
    let inline = 0;
    let external = 0;
    for (const t of this.initializers.values()) {
      if (isExternal(t)) external += t.external.length;
      else inline += t.data.byteLength;
    }
    return { inline, external };
  }

  private renamed(value: Value, name: string): Value {
    this.claim(name);
    const nodeName = this.unique(`/output/${name}`);
    this.nodeNames.add(nodeName);
    this.nodes.push({ name: nodeName, opType: 'Identity', input: [value.name], output: [name], attribute: [] });
    return { ...value, name };
  }

  private addInitializer(name: string, tensor: HostTensor | ExternalTensor): Value {
    checkTensor(name, tensor);
    this.claim(name);
    this.initializers.set(name, tensor);
    return { name, dtype: tensor.dtype, shape: tensor.dims };
  }

  private claim(name: string): void {
    if (!name) throw new Error('empty value name');
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    this.names.add(name);
  }

  // A fresh value and node name: `base`, else `base_1`, `base_2`, ...
  private unique(base: string): string {
    const taken = (n: string) => this.names.has(n) || this.nodeNames.has(n);
    if (!taken(base)) return base;
    for (let i = 1; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
  }
}

function valueInfo(name: string, dtype: DType, dims?: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxDataType(dtype),
        shape: dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

// Trailing omitted inputs are dropped; inner ones stay as ''.
function trimOptional(names: string[]): string[] {
  let end = names.length;
  while (end > 0 && names[end - 1] === '') end--;
  return names.slice(0, end);
}

const encoder = new TextEncoder();

function attributeProto(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v };
  }
  if (typeof v === 'bigint') return { name, type: AttributeType.INT, i: Number(v) };
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: encoder.encode(v) };
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'string')) return { name, type: AttributeType.STRINGS, strings: v.map((x) => encoder.encode(x)) };
    const nums = v as number[];
    return nums.every(Number.isInteger)
      ? { name, type: AttributeType.INTS, ints: nums }
      : { name, type: AttributeType.FLOATS, floats: nums };
  }
  switch (v.kind) {
    case 'float': return { name, type: AttributeType.FLOAT, f: v.value };
    case 'floats': return { name, type: AttributeType.FLOATS, floats: v.value };
    case 'tensor': return { name, type: AttributeType.TENSOR, t: tensorToProto('', v.value) };
    case 'graph': return { name, type: AttributeType.GRAPH, g: v.value };
  }
}
