import { z } from 'zod';
import { LDM_PREFIX } from '../sd/checkpoint-names.ts';

// LoRA Block Weight (hako-mikan/sd-webui-lora-block-weight) names blocks after the LDM UNet's
// input_blocks.N / middle_block / output_blocks.N; BASE is the text encoder.
const pad = (n: number) => String(n).padStart(2, '0');
export const BLOCK_IDS = [
  'BASE', ...Array.from({ length: 12 }, (_, i) => `IN${pad(i)}`), 'M00', ...Array.from({ length: 12 }, (_, i) => `OUT${pad(i)}`),
] as const;
/** The 17-value vector: BASE and the SD1.5 blocks that hold attention (where plain LoRA lives). */
export const BLOCK_IDS_17 = ['BASE', 'IN01', 'IN02', 'IN04', 'IN05', 'IN07', 'IN08', 'M00', 'OUT03', 'OUT04', 'OUT05', 'OUT06', 'OUT07', 'OUT08', 'OUT09', 'OUT10', 'OUT11'];

/** LBW's shipped presets, as 17-value vectors. */
export const BLOCK_PRESETS: Record<string, number[]> = {
  NONE: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  ALL: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  INS: [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  IND: [1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  INALL: [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  MIDD: [1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  OUTD: [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  OUTS: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
  OUTALL: [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  'ALL0.5': Array(17).fill(0.5),
};

/** A weight per block (all 26 ids); modules outside every block (time embedding, conv_out) keep 1. */
export const BlockWeightsSchema = z.record(z.string(), z.number());
export type BlockWeights = z.infer<typeof BlockWeightsSchema>;

/**
 * Reads a block-weight spec: empty (1 everywhere), a preset name (ALL, NONE, INS, IND, INALL, MIDD,
 * OUTD, OUTS, OUTALL, ALL0.5), 17 or 26 comma-separated values in LBW order, or `NAME=value` pairs
 * (e.g. `IN01=0, OUT03=0.5`, unnamed blocks 1). As in LBW, presets and 17-value vectors give the
 * blocks they do not list weight 0: in SD1.5 those hold only convolutions (IN00, IN03, OUT00...), which
 * only LoCon adapts; use 26 values to set them. (They assume SD1.5's layout: in the tiny model OUT02
 * holds attention but is not among the 17.)
 */
export function parseBlockWeights(spec: string): BlockWeights {
  const text = spec.trim();
  const weights = Object.fromEntries(BLOCK_IDS.map((id) => [id, 1]));
  if (text === '') return weights;
  const preset = BLOCK_PRESETS[text.toUpperCase()];
  if (preset) return fromVector(preset);
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p.includes('='))) {
    for (const p of parts) {
      const [id, value] = p.split('=').map((s) => s.trim());
      const name = id!.toUpperCase() === 'MID' ? 'M00' : id!.toUpperCase();
      if (!(BLOCK_IDS as readonly string[]).includes(name)) throw new Error(`unknown block "${id}" (blocks: ${BLOCK_IDS.join(', ')})`);
      weights[name] = number(value, p);
    }
    return weights;
  }
  if (parts.length !== 17 && parts.length !== 26) {
    throw new Error(`block weights: ${parts.length} values; give 17 or 26 values, NAME=value pairs or a preset (${Object.keys(BLOCK_PRESETS).join(', ')})`);
  }
  return fromVector(parts.map((p) => number(p, p)));
}

function fromVector(values: number[]): BlockWeights {
  const ids = values.length === 17 ? BLOCK_IDS_17 : BLOCK_IDS;
  const weights = Object.fromEntries(BLOCK_IDS.map((id) => [id, 0]));
  ids.forEach((id, i) => (weights[id] = values[i]!));
  return weights;
}

function number(text: string | undefined, where: string): number {
  const v = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(v)) throw new Error(`block weights: "${where}" is not a number`);
  return v;
}

/** The LBW block of a module, from its checkpoint (LDM) key; undefined outside every block. */
export function blockOf(ldmModule: string): string | undefined {
  if (ldmModule.startsWith(LDM_PREFIX.text)) return 'BASE';
  if (!ldmModule.startsWith(LDM_PREFIX.unet)) return undefined;
  const rest = ldmModule.slice(LDM_PREFIX.unet.length);
  const m = /^(input_blocks|middle_block|output_blocks)\.(\d+)/.exec(rest);
  if (!m) return undefined;
  if (m[1] === 'middle_block') return 'M00';
  return `${m[1] === 'input_blocks' ? 'IN' : 'OUT'}${pad(Number(m[2]))}`;
}

/** The factor block weights give a module (1 for modules outside every block). */
export function blockFactor(weights: BlockWeights | undefined, ldmModule: string): number {
  const block = weights ? blockOf(ldmModule) : undefined;
  return block === undefined ? 1 : (weights![block] ?? 1);
}
