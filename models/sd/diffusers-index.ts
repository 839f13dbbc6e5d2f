import type { SdConfig } from './config.ts';
import { DIFFUSERS_PARTS, LDM_PREFIX, ldmKeyToDiffusers, type DiffusersFolder } from './checkpoint-names.ts';
import type { CheckpointIndex, StoredTensor } from './external-weights.ts';
import { weightShapes } from './tiny-weights.ts';

// diffusers before 0.14 named the VAE attention projections differently.
const OLD_VAE_ATTENTION: Record<string, string> = {
  '.to_q.': '.query.', '.to_k.': '.key.', '.to_v.': '.value.', '.to_out.0.': '.proj_attn.',
};

/**
 * One index in LDM key names for a diffusers folder, from the indexes of its three weight files
 * (keys as in each file, `file` paths relative to the folder). The text encoder's keys are the LDM
 * ones without the prefix; other keys no LDM weight maps to are kept as `<folder>/<key>` so
 * `ExternalWeights.unused()` reports them.
 */
export function diffusersIndex(config: SdConfig, files: Record<DiffusersFolder, CheckpointIndex>): Map<string, StoredTensor> {
  const index = new Map<string, StoredTensor>();
  const taken = new Set<string>();
  for (const ldm of weightShapes(config).keys()) {
    const [folder, key] = ldmKeyToDiffusers(ldm, config);
    const candidates = [key, ...Object.entries(OLD_VAE_ATTENTION).filter(([n]) => key.includes(n)).map(([n, o]) => key.replace(n, o))];
    for (const k of candidates) {
      const t = files[folder].get(k);
      if (!t) continue;
      index.set(ldm, t);
      taken.add(`${folder}/${k}`);
      break;
    }
  }
  for (const { folder } of DIFFUSERS_PARTS) {
    for (const [key, t] of files[folder]) {
      if (taken.has(`${folder}/${key}`)) continue;
      index.set(folder === 'text_encoder' ? LDM_PREFIX.text + key : `${folder}/${key}`, t);
    }
  }
  return index;
}
