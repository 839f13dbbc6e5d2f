import type { LoraStack } from '../../models/lora/stack.ts';
import type { Logger } from '../../runtime/node.ts';

/**
 * Every node that takes a stack says when part of it will not act while sampling: 3x3 convolution
 * (LoCon) modules have no branch in the sampler's graphs, only "Bake LoRA" applies them. `where` names
 * the input or LoRAs concerned.
 */
export function warnBakeOnly(log: Logger, stack: LoraStack, where: string): void {
  const modules = stack.bakeOnly();
  if (!modules.length) return;
  log.warn(
    `${where}: ${modules.length} modules (3x3 convolutions, LoCon; e.g. ${modules[0]}) have no sampler branch and are left out while sampling; only "Bake LoRA" applies them`,
  );
}
