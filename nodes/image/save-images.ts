import { z } from 'zod';
import { defineNode } from '../../runtime/node.ts';
import { filePrefixParam } from '../../runtime/params.ts';
import { encodePng } from '../../runtime/image-io.ts';
import { GRAPH_PNG_KEYWORD, addPngText } from '../../protocol/index.ts';
import { writeInside } from '../../runtime/safe-open.ts';

export default defineNode({
  type: 'image/save-images',
  version: 1,
  category: 'image',
  title: 'Save images',
  description:
    'Writes PNGs into the data output folder. Each file carries the whole graph and this node\'s params in a PNG text chunk, so dropping it on the editor opens the graph that made it.',
  inputs: { images: { type: 'IMAGES' } },
  outputs: { files: { type: 'STRING', description: 'Output file ids, one per line' } },
  params: z.object({ prefix: filePrefixParam('facechain') }),
  cacheable: false,
  async run(ctx, { images }, p) {
    const embedded = JSON.stringify({ graph: ctx.graph, node: ctx.nodeId, params: p, runId: ctx.runId });
    const ids: string[] = [];
    for (const [i, img] of images.entries()) {
      ctx.signal.throwIfAborted();
      const id = `${p.prefix}-${ctx.runId.slice(0, 8)}-${ctx.nodeId.replace(/[^A-Za-z0-9_-]/g, '_')}-${String(i).padStart(3, '0')}.png`;
      await writeInside(ctx.data.output, id, addPngText(await encodePng(img), GRAPH_PNG_KEYWORD, embedded));
      ids.push(id);
      ctx.progress((i + 1) / images.length, id);
    }
    ctx.preview(images.slice(0, 8));
    ctx.log.info(`Saved ${ids.length} image(s) to the output folder`);
    return { files: ids.join('\n') };
  },
});
