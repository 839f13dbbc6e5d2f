// Activations, standalone or fused into _FusedConv2D / _FusedMatMul / FusedDepthwiseConv2dNative.
import type { Value } from '../../onnx/index.ts';
import { attrFloat, attrStrings } from '../attrs.ts';
import type { TfNode } from '../model-json.ts';
import type { ConversionContext } from './context.ts';

/** Applies one activation; `alpha` is Prelu's slope tensor. */
export function activation(ctx: ConversionContext, kind: string, x: Value, node: TfNode, alpha?: Value): Value {
  const b = ctx.builder;
  switch (kind) {
    case 'Relu': return b.relu(x);
    case 'Relu6': return b.clip(x, 0, 6);
    case 'Sigmoid': return b.sigmoid(x);
    case 'Tanh': return b.tanh(x);
    case 'Elu': return b.op('Elu', [x], {}, { shape: x.shape });
    case 'LeakyRelu': return b.op('LeakyRelu', [x], { alpha: { kind: 'float', value: attrFloat(node, 'leakyrelu_alpha', 0.2) } });
    case 'Prelu': {
      if (!alpha) throw new Error(`${node.op} ${node.name}: Prelu without alpha`);
      return b.op('PRelu', [x, alpha], {}, { shape: x.shape });
    }
    default: throw new Error(`${node.op} ${node.name}: unsupported fused activation ${kind}`);
  }
}

/**
 * The fused_ops of a fused node split into whether it adds a bias and which activation follows.
 * Extra inputs after the main ones are [bias] then [prelu alpha].
 */
export function fusedOps(node: TfNode): { bias: boolean; activation?: string } {
  const ops = attrStrings(node, 'fused_ops');
  const bias = ops[0] === 'BiasAdd';
  const rest = bias ? ops.slice(1) : ops;
  if (rest.length > 1 || rest.some((o) => o === 'BiasAdd' || o.startsWith('FusedBatchNorm'))) {
    throw new Error(`${node.op} ${node.name}: unsupported fused_ops ${ops.join('+')}`);
  }
  return { bias, activation: rest[0] };
}
