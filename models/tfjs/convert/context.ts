// State of one conversion: the ONNX builder, what each TF tensor became, and the TF constants.
// Tensors keep TF's NHWC layout; shapes are tracked statically with -1 for unknown sizes (batch).
import type { GraphBuilder, HostTensor, Value } from '../../onnx/index.ts';
import type { TfNode } from '../model-json.ts';
import { parseInputRef, type InputRef } from '../load.ts';

export type Shape = number[];

/** A converted TF tensor: a graph value with its static shape. */
export interface Tensor { value: Value; shape: Shape }

export class ConversionContext {
  private readonly tensors = new Map<string, Tensor>();
  private readonly materialised = new Map<string, Value>();

  constructor(
    readonly builder: GraphBuilder,
    private readonly constants: Map<string, HostTensor>,
  ) {}

  /** Records output `index` of `node`. */
  set(node: string, index: number, t: Tensor): void {
    this.tensors.set(`${node}:${index}`, t);
  }

  /** The constant behind input `i` of `node`, or undefined when that input is computed. */
  constantInput(node: TfNode, i: number): HostTensor | undefined {
    const ref = this.inputRef(node, i);
    return ref.output === 0 ? this.constants.get(ref.node) : undefined;
  }

  /** Input `i` as numbers; throws when it is not a constant (the converter needs static shapes/axes). */
  staticInts(node: TfNode, i: number): number[] {
    const c = this.constantInput(node, i);
    if (!c) throw new Error(`${node.op} ${node.name}: input ${i} must be a constant`);
    return Array.from(c.data as ArrayLike<number>, Number);
  }

  /** Input `i` as a graph value (constants become initializers on first use). */
  input(node: TfNode, i: number): Tensor {
    return this.resolve(this.inputRef(node, i), `${node.op} ${node.name}`);
  }

  /** A tensor by TF reference (`name` or `name:1`), e.g. a graph output. */
  tensor(ref: string): Tensor {
    return this.resolve(parseInputRef(ref), `output ${ref}`);
  }

  /** A new initializer for a rearranged weight (conv filters), named after the TF constant. */
  weight(name: string, t: HostTensor): Value {
    return this.builder.initializer(name, t);
  }

  inputCount(node: TfNode): number {
    return (node.input ?? []).filter((r) => !r.startsWith('^')).length;
  }

  private resolve(ref: InputRef, user: string): Tensor {
    const known = this.tensors.get(`${ref.node}:${ref.output}`);
    if (known) return known;
    const c = ref.output === 0 ? this.constants.get(ref.node) : undefined;
    if (!c) throw new Error(`${user}: input ${ref.node}:${ref.output} was not converted`);
    let value = this.materialised.get(ref.node);
    if (!value) {
      value = this.builder.initializer(ref.node, c);
      this.materialised.set(ref.node, value);
    }
    return { value, shape: [...c.dims] };
  }

  private inputRef(node: TfNode, i: number): InputRef {
    const refs = (node.input ?? []).filter((r) => !r.startsWith('^'));
    const ref = refs[i];
    if (ref === undefined) throw new Error(`${node.op} ${node.name}: has no input ${i}`);
    return parseInputRef(ref);
  }
}
