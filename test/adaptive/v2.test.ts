// models/adaptive/v2.ts on a synthetic objective: the block-group coordinate search, the choice among
// candidates scored on every seed, the results table, and the face LoRA's block weights per group.
import { describe, expect, it } from 'vitest';
import { groupBlocks, resultsTable, searchWeightsV2, type WeightPoint } from '../../models/adaptive/v2.ts';
import { blockFactor } from '../../models/lora/blocks.ts';
import { rowsCsv } from '../../protocol/sweep-results.ts';

const spec = { face: { min: 0, max: 1, count: 3 }, style: { min: 0, max: 1, count: 3 }, seeds: [1, 2, 3], eta: 3, styleFloor: 0.5, blockGroups: true };
/** Identity peaks at face 0.5 with IN 0.5 and OUT 1; style is the style weight; seeds add a small known offset. */
const evaluate = async (p: WeightPoint, seed: number) => ({
  identity: 1 - (p.face - 0.5) ** 2 - 0.1 * p.style - (p.IN - 0.5) ** 2 - (p.OUT - 1) ** 2 + 0.001 * seed,
  style: p.style,
});

describe('adaptive v2 search', () => {
  it('chooses above the style floor, then tunes the block groups', async () => {
    const r = await searchWeightsV2(spec, evaluate);
    // The floor excludes style 0; identity falls with style, so 0.5 wins; the coordinate search finds IN 0.5.
    expect(r.best.point).toEqual({ face: 0.5, style: 0.5, IN: 0.5, MID: 1, OUT: 1 });
    expect(r.best.n).toBe(3);
    expect(r.front.map((c) => c.point)).toContainEqual(r.best.point);
    // 9 pairs on one seed, 3 on three (6 more), then 2 values x 3 groups x 3 seeds.
    expect(r.evaluations).toHaveLength(9 + 6 + 18);
    const table = resultsTable('t', r, []);
    expect(table.rows).toHaveLength(r.evaluations.length);
    expect(new Set(table.rows.map((row) => `${row.key}|${row.seed}`)).size).toBe(r.evaluations.length);
    expect(rowsCsv(table).trim().split('\n')).toHaveLength(r.evaluations.length + 1);
    expect(await searchWeightsV2(spec, evaluate)).toEqual(r);
  });

  it('weights only the 17 attention blocks by group', () => {
    expect(groupBlocks({ IN: 1, MID: 1, OUT: 1 })).toBeUndefined();
    const w = groupBlocks({ IN: 0.5, MID: 0, OUT: 2 });
    expect(blockFactor(w, 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q')).toBe(0.5);
    expect(blockFactor(w, 'model.diffusion_model.middle_block.1.transformer_blocks.0.attn1.to_q')).toBe(0);
    expect(blockFactor(w, 'model.diffusion_model.output_blocks.3.1.transformer_blocks.0.attn1.to_q')).toBe(2);
    // Outside the 17 (a convolution-only block) keeps 1, unlike an LBW 17-value vector.
    expect(blockFactor(w, 'model.diffusion_model.input_blocks.3.0.op')).toBe(1);
  });
});
