// What a gradient rule sees of one forward node, and what it returns.
import type { GraphBuilder } from '../builder.ts';
import type { Value } from '../graph-core.ts';
import type { NodeProto } from '../proto.ts';

/** The forward node's attributes, read with their ONNX defaults. */
export interface NodeAttrs {
  int(name: string, fallback: number): number;
  ints(name: string, fallback: readonly number[]): number[];
  float(name: string, fallback: number): number;
  string(name: string, fallback: string): string;
}

export interface GradContext {
  /** Emits the backward nodes (they are merged into the forward graph). */
  readonly b: GraphBuilder;
  readonly node: NodeProto;
  /** ai.onnx opset of the model. */
  readonly opset: number;
  readonly attrs: NodeAttrs;
  /** Forward inputs with dtype and concrete shape (undefined for omitted optional inputs). */
  readonly inputs: readonly (Value | undefined)[];
  /** Forward outputs with dtype and concrete shape. */
  readonly outputs: readonly Value[];
  /** Whether input `i` needs a gradient (it lies on a path from a trainable input). */
  needs(i: number): boolean;
  /** The gradient reaching output `i` (zeros when that output does not reach the loss). */
  grad(i?: number): Value;
  /** Whether output `i` has a gradient at all (Split: skip pieces that do not reach the loss). */
  hasGrad(i: number): boolean;
  /** Concrete shape of a forward value (inputs/outputs of this node). */
  shape(v: Value | undefined): number[];
  /** The numbers of a constant input (initializer or Constant node), e.g. axes or Slice starts. */
  constInts(i: number): number[] | undefined;
  /**
   * Sums a gradient shaped like output 0 (the broadcast shape) down to input `i`'s shape: ReduceSum
   * over the axes broadcasting added or stretched, then Reshape.
   */
  reduceTo(g: Value, i: number): Value;
  /** Sums `g` of shape `from` down to the broadcastable shape `to`. */
  sumTo(g: Value, from: readonly number[], to: readonly number[]): Value;
  /** Zeros shaped like forward value `like`. */
  zeros(like: Value): Value;
}

/** Gradients of the loss with respect to each input of the node; undefined where none is needed. */
export type GradRule = (ctx: GradContext) => (Value | undefined)[];

/** Rules by op type (domain-qualified as `domain:OpType` outside ai.onnx). */
export type RuleTable = Readonly<Record<string, GradRule>>;
