import { z } from 'zod';
import { SD_CONFIGS, type SdConfig } from '../sd/config.ts';
import type { LoraBranch, LoraBranches } from '../sd/lora-feeds.ts';
import type { LoraSchedule } from '../sd/lora-schedule.ts';
import { blockFactor, BlockWeightsSchema } from './blocks.ts';
import { moduleIndex, type AdaptableModule } from './modules.ts';
import { CONSTANT_SCHEDULE, isConstant, scheduleFactor, ScheduleSchema } from './schedule.ts';
import { LoraSchema, rankOf, type LoraModule } from './schema.ts';

export const LoraStackEntrySchema = z.object({
  lora: LoraSchema,
  /** Any real number: negative weights subtract the LoRA, weights above 1 exaggerate it. */
  weight: z.number(),
  /** Per-block factors (blocks.ts); undefined = 1 everywhere. */
  blocks: BlockWeightsSchema.optional(),
  /** Per-step factor of the UNet branches (the text encoder runs once, before sampling). */
  schedule: ScheduleSchema.default(CONSTANT_SCHEDULE),
});
export type LoraStackEntry = z.input<typeof LoraStackEntrySchema>;
type CheckedEntry = z.infer<typeof LoraStackEntrySchema>;

/** Entries already parsed by a stack: `add` copies them into the next stack without parsing them again. */
const checkedEntries = new WeakSet<CheckedEntry>();
function checkEntry(e: LoraStackEntry): CheckedEntry {
  if (checkedEntries.has(e as CheckedEntry)) return e as CheckedEntry;
  const checked = LoraStackEntrySchema.parse(e);
  checkedEntries.add(checked);
  return checked;
}

/** One module's share of a stacked branch. */
interface Part {
  module: LoraModule;
  /** weight · alpha/rank · block factor. */
  factor: number;
  entry: number;
}

/** A stacked branch with static factors applied, and where each entry's rows of B lie. */
interface StackedBranch extends LoraBranch {
  out: number;
  rows: { offset: number; rank: number; entry: number }[];
}

/**
 * What a LORA_STACK port carries: weighted LoRAs of one base, in the order they were added. It is the
 * sampler's LoraSchedule. Stacking is exact: per module, A is every LoRA's downᵀ side by side and B
 * their scaled upᵀ stacked, so x·A·B = Σ w_k·s_k·x·downₖᵀ·upₖᵀ and N LoRAs cost one branch of rank
 * Σ r_k. A LoRA whose factor on a module is a constant 0 (a block weighted 0) is left out there.
 */
export class LoraStack implements LoraSchedule {
  readonly entries: readonly CheckedEntry[];
  private textBranches: LoraBranches | undefined;
  private unetStatic: Map<string, StackedBranch> | undefined;
  private last: { key: string; branches: LoraBranches } | undefined;

  /** `configs`: the architectures the LoRAs' base names refer to (a test's reduced model adds its own). */
  constructor(entries: readonly LoraStackEntry[] = [], private readonly configs: readonly SdConfig[] = Object.values(SD_CONFIGS)) {
    this.entries = entries.map(checkEntry);
    const first = this.entries[0]!;
    const other = this.entries.find((e) => e.lora.base !== first.lora.base);
    if (other) {
      throw new Error(`LoRA "${other.lora.name}" is for ${other.lora.base}, but "${first.lora.name}" in the same stack is for ${first.lora.base}`);
    }
  }

  /** A new stack with `entry` appended. */
  add(entry: LoraStackEntry): LoraStack {
    return new LoraStack([...this.entries, entry], this.configs);
  }

  /** The SD config all LoRAs of the stack are for (undefined when empty). */
  get base(): string | undefined {
    return this.entries[0]?.lora.base;
  }

  /** Text-encoder branches; schedules do not apply (the encoder runs once per prompt). */
  get text(): LoraBranches {
    this.textBranches ??= this.stacked('lora_te');
    return this.textBranches;
  }

  /** UNet branches at sampling step `step` of `total`; the same map while the step factors repeat. */
  unet(step: number, total: number): LoraBranches {
    this.unetStatic ??= this.stacked('lora_unet');
    const factors = this.entries.map((e) => (isConstant(e.schedule) ? 1 : scheduleFactor(e.schedule, step, total)));
    const key = factors.join(',');
    if (this.last?.key === key) return this.last.branches;
    const branches = factors.every((f) => f === 1) ? this.unetStatic : rescale(this.unetStatic, factors);
    this.last = { key, branches };
    return branches;
  }

  /** Every adapted module with each entry's factor (weight · alpha/rank · block weight), zeros left out. */
  modules(): { module: AdaptableModule; parts: Part[] }[] {
    const base = this.base;
    if (!base) return [];
    const config = this.configs.find((c) => c.name === base);
    if (!config) throw new Error(`LoRA stack: no SD architecture named ${base}`);
    const index = moduleIndex(config);
    const byName = new Map<string, Part[]>();
    this.entries.forEach((e, entry) => {
      for (const module of e.lora.modules) {
        const ldm = index.byName.get(module.name)?.ldm;
        if (!ldm) throw new Error(`LoRA "${e.lora.name}": ${module.name} is not a module of ${base}`);
        const factor = e.weight * (module.alpha / rankOf(module)) * blockFactor(e.blocks, ldm);
        if (factor === 0) continue;
        const parts = byName.get(module.name) ?? [];
        byName.set(module.name, [...parts, { module, factor, entry }]);
      }
    });
    return [...byName].map(([name, parts]) => ({ module: index.byName.get(name)!, parts }));
  }

  /** Adapted modules the graphs have no branch for (3x3 convs): only baking applies them. */
  bakeOnly(): string[] {
    return this.modules().filter((m) => !m.module.target).map((m) => m.module.name);
  }

  private stacked(prefix: 'lora_te' | 'lora_unet'): Map<string, StackedBranch> {
    const out = new Map<string, StackedBranch>();
    for (const { module, parts } of this.modules()) {
      if (module.target && module.name.startsWith(prefix)) out.set(module.name, stackParts(parts));
    }
    return out;
  }
}

function stackParts(parts: Part[]): StackedBranch {
  const rank = parts.reduce((s, p) => s + rankOf(p.module), 0);
  const first = parts[0]!.module;
  const inDim = first.down.data.length / rankOf(first);
  const out = first.up.data.length / rankOf(first);
  const a = new Float32Array(inDim * rank);
  const b = new Float32Array(rank * out);
  const rows: StackedBranch['rows'] = [];
  let offset = 0;
  for (const { module, factor, entry } of parts) {
    const r = rankOf(module);
    const down = module.down.data;
    const up = module.up.data;
    // A[i, offset + j] = down[j, i]; B[offset + j, o] = factor · up[o, j] (conv 1x1 reads the same).
    for (let j = 0; j < r; j++) {
      for (let i = 0; i < inDim; i++) a[i * rank + offset + j] = down[j * inDim + i]!;
      const row = (offset + j) * out;
      for (let o = 0; o < out; o++) b[row + o] = factor * up[o * r + j]!;
    }
    rows.push({ offset, rank: r, entry });
    offset += r;
  }
  return { rank, a, b, out, rows };
}

/** Branches with each entry's rows of B multiplied by its step factor (A is shared). */
function rescale(branches: Map<string, StackedBranch>, factors: number[]): LoraBranches {
  const out = new Map<string, LoraBranch>();
  for (const [name, br] of branches) {
    if (br.rows.every((r) => factors[r.entry] === 1)) {
      out.set(name, br);
      continue;
    }
    const b = new Float32Array(br.b);
    for (const r of br.rows) {
      const f = factors[r.entry]!;
      if (f === 1) continue;
      const rows = b.subarray(r.offset * br.out, (r.offset + r.rank) * br.out);
      for (let i = 0; i < rows.length; i++) rows[i]! *= f;
    }
    out.set(name, { rank: br.rank, a: br.a, b });
  }
  return out;
}
