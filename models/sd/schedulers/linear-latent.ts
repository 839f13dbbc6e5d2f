/**
 * A latent as a linear combination of tensors held elsewhere (the resident loop's, on the GPU for GPU
 * providers): the schedulers' steps are linear in the latent, the noise prediction, past ones and fresh
 * noise, so run on these they say which combination the next latent is, and one small graph makes it
 * where the tensors are. Terms are kept in first-use order, so the same steps give the same graph feeds.
 */
export class LinearLatent {
  private constructor(readonly terms: ReadonlyMap<object, number>) {}

  static of(base: object): LinearLatent {
    return new LinearLatent(new Map([[base, 1]]));
  }

  /** Σ coefficient * latent, with the terms of equal tensors merged. */
  static sum(parts: readonly (readonly [number, LinearLatent])[]): LinearLatent {
    const terms = new Map<object, number>();
    for (const [c, l] of parts) for (const [base, w] of l.terms) terms.set(base, (terms.get(base) ?? 0) + c * w);
    return new LinearLatent(terms);
  }
}
