// Colour transfer in the style of Reinhard et al.: move one pixel set's per-channel mean and spread
// onto another's. RGB channels, measured over a weighted region only (the shared face area).

export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
}

/**
 * Mean and standard deviation of three interleaved channels over the pixels where `weight` is at
 * least `minWeight` (0..255). `stride` is the number of values per pixel in `pixels`.
 */
export function channelStats(pixels: ArrayLike<number>, stride: number, weight: Uint8Array, minWeight: number): ChannelStats | undefined {
  const sum = [0, 0, 0];
  const sum2 = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < weight.length; i++) {
    if (weight[i]! < minWeight) continue;
    n++;
    for (let c = 0; c < 3; c++) {
      const v = pixels[i * stride + c]!;
      sum[c]! += v;
      sum2[c]! += v * v;
    }
  }
  if (n === 0) return undefined;
  const mean = sum.map((s) => s / n) as ChannelStats['mean'];
  const std = sum2.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! * mean[c]!))) as ChannelStats['std'];
  return { mean, std };
}

/** Largest factor the spread may be scaled by either way: keeps a flat region from being blown up into noise. */
const MAX_GAIN = 2;

/** Per channel v -> a*v + b taking `from`'s statistics onto `to`'s. */
export function colourTransfer(from: ChannelStats, to: ChannelStats): { gain: number[]; bias: number[] } {
  const gain = [0, 1, 2].map((c) => Math.min(MAX_GAIN, Math.max(1 / MAX_GAIN, to.std[c]! / Math.max(1e-3, from.std[c]!))));
  const bias = gain.map((g, c) => to.mean[c]! - g * from.mean[c]!);
  return { gain, bias };
}
