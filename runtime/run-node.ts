import type { AnyNodeDefinition, RunContext } from './node.ts';

export class CancelledError extends Error {}

/**
 * Runs one node and checks its outputs: every output that is not optional has a value. Waits for the
 * previews it started either way; throws CancelledError when the run was cancelled meanwhile.
 */
export async function runNode(
  def: AnyNodeDefinition,
  ctx: RunContext,
  inputs: Record<string, unknown>,
  params: Record<string, unknown>,
  pending: Promise<void>[],
): Promise<Record<string, unknown>> {
  let outputs: Record<string, unknown>;
  try {
    outputs = (await def.run(ctx, inputs as never, params)) as Record<string, unknown>;
  } finally {
    await Promise.allSettled(pending);
  }
  if (ctx.signal.aborted) throw new CancelledError();
  for (const [port, spec] of Object.entries(def.outputs)) {
    if (outputs?.[port] === undefined && !spec.optional) {
      throw new Error(`${def.type} returned no value for its output "${port}"`);
    }
  }
  return outputs;
}
