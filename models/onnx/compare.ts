// How far one output is from another: for parity tests and the GPU check.

/** max |ours - reference| / max |reference|: the error relative to the reference's scale. */
export function relativeError(ours: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (ours.length !== reference.length) throw new Error(`length ${ours.length} vs reference ${reference.length}`);
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < reference.length; k++) {
    diff = Math.max(diff, Math.abs(ours[k]! - reference[k]!));
    scale = Math.max(scale, Math.abs(reference[k]!));
  }
  return diff / scale;
}

/** PSNR in dB of two 8-bit images of the same size (Infinity when identical). */
export function psnr8(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.length));
}
