// Rearranges TF filters into ONNX layouts (done once on the host, so the graph holds ready weights).
import type { HostTensor } from '../../onnx/index.ts';

/** Permutes a float32 tensor's axes: out.dims[i] = in.dims[perm[i]]. */
export function permute(t: HostTensor, perm: readonly number[]): HostTensor {
  const src = t.data as Float32Array;
  const dims = perm.map((p) => t.dims[p]!);
  const rank = t.dims.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= t.dims[i]!;
  }
  const strides = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(src.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let at = 0;
    for (let i = 0; i < rank; i++) at += idx[i]! * strides[i]!;
    out[o] = src[at]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dtype: 'float32', dims, data: out };
}

/** Conv2D filter [h, w, in, out] -> ONNX Conv weight [out, in, h, w]. */
export function convFilter(f: HostTensor): HostTensor {
  return permute(f, [3, 2, 0, 1]);
}

/**
 * DepthwiseConv2dNative filter [h, w, C, M] -> grouped Conv weight [C*M, 1, h, w] (group = C):
 * TF's output channel c*M + m reads input channel c with multiplier m.
 */
export function depthwiseFilter(f: HostTensor): HostTensor {
  const [h, w, c, m] = f.dims;
  const p = permute(f, [2, 3, 0, 1]);
  return { ...p, dims: [c! * m!, 1, h!, w!] };
}

/** Conv2DBackpropInput filter [h, w, out, in] -> ConvTranspose weight [in, out, h, w]. */
export function convTransposeFilter(f: HostTensor): HostTensor {
  return permute(f, [3, 2, 0, 1]);
}
