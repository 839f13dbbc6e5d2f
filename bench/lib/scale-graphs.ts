// The graphs of `bench -- scale`, shared with its bare-executor processes (bare-runs.ts).
const graphOf = (name: string, nodes: object[], edges: [string, string, string, string][]) => ({
  format: 'facechain-graph',
  version: 1,
  name,
  nodes,
  edges: edges.map(([fn, fp, tn, tp]) => ({ from: { node: fn, port: fp }, to: { node: tn, port: tp } })),
});

/** CPU-bound: the demo photos decoded, resized and laid out (run with the output cache off). */
export const cpuBound = graphOf(
  'scale bench',
  [
    { id: 'load', type: 'image/load-images', params: { path: 'samples', limit: 6 } },
    { id: 'resize', type: 'image/resize', params: { width: 768, height: 768, fit: 'cover' } },
    { id: 'grid', type: 'image/grid', params: { columns: 3, cell: 512, gap: 8 } },
  ],
  [
    ['load', 'images', 'resize', 'images'],
    ['resize', 'images', 'grid', 'images'],
  ],
);

/** One node answered from the output cache: what is left of a run's trip is the queue's. */
export const tiny = graphOf('overhead bench', [{ id: 'load', type: 'image/load-images', params: { path: 'samples', limit: 1 } }], []);
