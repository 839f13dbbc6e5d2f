/**
 * Tensors a single-file SD1.x checkpoint may hold besides weights: the CLIP position ids, DDPM schedule
 * buffers, and EMA bookkeeping (v1-5-pruned also holds EMA copies named model_ema.*, skipped by prefix).
 */
export const NON_WEIGHT_KEYS = new Set([
  'cond_stage_model.transformer.text_model.embeddings.position_ids',
  'betas', 'alphas_cumprod', 'alphas_cumprod_prev', 'sqrt_alphas_cumprod', 'sqrt_one_minus_alphas_cumprod',
  'log_one_minus_alphas_cumprod', 'sqrt_recip_alphas_cumprod', 'sqrt_recipm1_alphas_cumprod',
  'posterior_variance', 'posterior_log_variance_clipped', 'posterior_mean_coef1', 'posterior_mean_coef2',
  'logvar', 'model_ema.decay', 'model_ema.num_updates',
]);

export function isNonWeightKey(key: string): boolean {
  return NON_WEIGHT_KEYS.has(key) || key.startsWith('model_ema.');
}
