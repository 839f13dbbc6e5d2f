// Training that starts from an existing LoRA instead of zero: FaceChain warm-starts its face LoRA from a
// face-common LoRA (`fromfacecommon`). The file's modules must be exactly the ones this run trains.
import type { Lora } from '../lora/schema.ts';
import { rankOf } from '../lora/schema.ts';
import type { LoraTarget } from '../sd/lora-targets.ts';
import { transpose, type LoraParams } from './lora-params.ts';

const list = (names: readonly string[]) => names.slice(0, 4).join(', ') + (names.length > 4 ? ` and ${names.length - 4} more` : '');

/**
 * The params equal to `lora` on `targets`: A = downᵀ, B = upᵀ rescaled so the run's scale (alpha / rank,
 * `alpha` 0 = rank) gives each module the branch the file gives it. The rank is the file's.
 */
export function warmStart(targets: readonly LoraTarget[], lora: Lora, alpha: number, base: string): LoraParams {
  const where = `inputs.startFrom ("${lora.name}")`;
  if (lora.base !== base) throw new Error(`${where}: the LoRA is for ${lora.base}, the model is ${base}`);
  const byName = new Map(lora.modules.map((m) => [m.name, m]));
  const wanted = new Set(targets.map((t) => t.name));
  const extra = lora.modules.map((m) => m.name).filter((n) => !wanted.has(n));
  const missing = targets.map((t) => t.name).filter((n) => !byName.has(n));
  if (extra.length || missing.length) {
    const parts = [
      extra.length ? `${extra.length} of its modules are not trained here (${list(extra)})` : '',
      missing.length ? `${missing.length} trained modules are not in it (${list(missing)})` : '',
    ].filter(Boolean);
    throw new Error(`${where}: its targets do not match this training's: ${parts.join('; ')}. Set "targets" and "textEncoder" to the LoRA's modules`);
  }
  const ranks = new Set(lora.modules.map(rankOf));
  if (ranks.size !== 1) throw new Error(`${where}: its modules have different ranks (${[...ranks].join(', ')}); a warm start needs one rank`);
  const [rank] = ranks;
  const runAlpha = (alpha || rank)!;
  const modules = targets.map((target) => {
    const m = byName.get(target.name)!;
    if (m.down.data.length !== rank! * target.in || m.up.data.length !== rank! * target.out) {
      throw new Error(`${where}: ${target.name} is ${m.down.dims.join('x')} / ${m.up.dims.join('x')}, the model's module is ${target.in} in, ${target.out} out`);
    }
    const b = transpose(m.up.data, target.out, rank!);
    const factor = m.alpha / runAlpha;
    for (let i = 0; i < b.length; i++) b[i]! *= factor;
    return { target, a: transpose(m.down.data, rank!, target.in), b };
  });
  return { rank: rank!, alpha: runAlpha!, modules };
}
