// The adaptive node's `halving` search (models/adaptive/v2.ts): each (candidate, seed) is sampled,
// scored for identity like v1 and for style against a reference sampled with the style LoRA alone, and
// the table of every evaluation is written to the output folder beside the Pareto plot.
import { halvingBudget, type Evaluation } from '../../models/adaptive/halving.ts';
import { paretoPlot } from '../../models/adaptive/pareto-plot.ts';
import { candidatesOf, groupBlocks, pointKey, resultsTable, searchWeightsV2, type V2Spec, type WeightPoint } from '../../models/adaptive/v2.ts';
import type { Lora } from '../../models/lora/schema.ts';
import { LoraStack } from '../../models/lora/stack.ts';
import { gramDistance, meanGrams, styleGrams } from '../../models/score/style-gram.ts';
import { rowsCsv } from '../../protocol/sweep-results.ts';
import { encodePng } from '../../runtime/image-io.ts';
import type { RunContext } from '../../runtime/node.ts';
import { writeInside } from '../../runtime/safe-open.ts';
import type { Image } from '../../runtime/values.ts';

/** Reference seeds for the style score: past any candidate seed (at most 27 of them), so other seeds as score/style asks. */
const REFERENCE_SEEDS = 2;
const REFERENCE_OFFSET = 1000;

export interface V2Inputs {
  face: Lora;
  style: Lora;
  /** Samples and decodes one image with the stack on the seed. */
  render: (stack: LoraStack, seed: number) => Promise<Image>;
  /** Identity score of an image; undefined without a usable face. */
  identity: (image: Image, what: string) => Promise<number | undefined>;
}

export const stackAt = (i: Pick<V2Inputs, 'face' | 'style'>, p: WeightPoint) =>
  new LoraStack([{ lora: i.face, weight: p.face, blocks: groupBlocks(p) }, { lora: i.style, weight: p.style }]);

const describe = (p: WeightPoint) =>
  `face ${p.face}, style ${p.style}${p.IN !== 1 || p.MID !== 1 || p.OUT !== 1 ? `, IN ${p.IN} MID ${p.MID} OUT ${p.OUT}` : ''}`;

export async function runV2(ctx: RunContext, i: V2Inputs, spec: Omit<V2Spec, 'seeds'>, firstSeed: number, perCandidate: number) {
  const seeds = Array.from({ length: perCandidate }, (_, k) => (firstSeed + k) % 2 ** 32);
  const styleAlone = new LoraStack([{ lora: i.style, weight: 1 }]);
  const references = [];
  for (let k = 0; k < REFERENCE_SEEDS; k++) references.push(await styleGrams(await i.render(styleAlone, (firstSeed + REFERENCE_OFFSET + k) % 2 ** 32)));
  const reference = meanGrams(references);

  const firstImages = new Map<string, Image>();
  const ms: number[] = [];
  let latest: Image | undefined;
  const evaluate = async (p: WeightPoint, seed: number) => {
    ctx.signal.throwIfAborted();
    const start = performance.now();
    const image = await i.render(stackAt(i, p), seed);
    if (seed === seeds[0]) firstImages.set(pointKey(p), image);
    latest = image;
    const identity = await i.identity(image, `${describe(p)}, seed ${seed}`);
    const style = 1 / (1 + gramDistance(await styleGrams(image), reference));
    ms.push(performance.now() - start);
    ctx.log.info(`${describe(p)}, seed ${seed}: identity ${identity?.toFixed(4) ?? 'none'}, style ${style.toFixed(4)}`);
    return { identity, style };
  };
  // The coordinate search tries two other values per group on every seed.
  const budget = halvingBudget(spec.face.count * spec.style.count, perCandidate, spec.eta) + (spec.blockGroups ? 6 * perCandidate : 0);
  const done: Evaluation<WeightPoint>[] = [];
  const onEvaluation = async (e: Evaluation<WeightPoint>) => {
    done.push(e);
    ctx.progress(0.99 * Math.min(1, done.length / budget), `${describe(e.point)}, seed ${e.seed}`);
    ctx.preview([await paretoPlot({ candidates: candidatesOf(done), front: [], styleFloor: spec.styleFloor, seeds: seeds.length }), latest!]);
  };
  const result = await searchWeightsV2({ ...spec, seeds }, evaluate, onEvaluation);
  const { best } = result;
  if (best.style!.mean < spec.styleFloor) {
    ctx.log.warn(`no pair scored on every seed reaches the style floor ${spec.styleFloor}: chose the most stylised (mean style ${best.style!.mean.toFixed(4)})`);
  }
  ctx.log.info(
    `chosen: ${describe(best.point)}, identity ${best.identity!.mean.toFixed(4)} ± ${best.identity!.se.toFixed(4)}, style ${best.style!.mean.toFixed(4)} ` +
      `over ${seeds.length} seeds (${result.evaluations.length} evaluations, ${result.front.length} on the front)`,
  );
  const plot = await paretoPlot({ candidates: result.candidates, front: result.front, best, styleFloor: spec.styleFloor, seeds: seeds.length });
  const name = `adaptive-${ctx.runId.slice(0, 8)}-${ctx.nodeId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const table = resultsTable(name, result, ms);
  await writeInside(ctx.data.output, `${name}-results.json`, JSON.stringify(table, null, 1));
  await writeInside(ctx.data.output, `${name}-results.csv`, rowsCsv(table));
  await writeInside(ctx.data.output, `${name}-pareto.png`, await encodePng(plot));
  ctx.log.info(`results table and Pareto plot saved to the output folder as ${name}-results.json/.csv and ${name}-pareto.png`);
  const bestImage = firstImages.get(pointKey(best.point))!;
  ctx.preview([plot, bestImage]);
  ctx.progress(1);
  return {
    face: best.point.face,
    style: best.point.style,
    stack: stackAt(i, best.point),
    images: [bestImage],
    plot,
    scores: result.evaluations.map((e) => e.identity ?? Number.NaN),
  };
}
