import { z } from 'zod';

/**
 * Binary WebSocket frame for a preview image: [uint32 BE header length][UTF-8 JSON header][image bytes].
 * Framework-free: the server encodes, the editor and tests decode.
 */
export const PreviewHeaderSchema = z.object({
  runId: z.string(),
  nodeId: z.string(),
  previewId: z.number(),
  index: z.number(),
  mime: z.string(),
  width: z.number(),
  height: z.number(),
});
export type PreviewHeader = z.infer<typeof PreviewHeaderSchema>;

export function encodePreviewFrame(header: PreviewHeader, image: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + head.length + image.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(image, 4 + head.length);
  return out;
}

/** The frame of a `node.preview` event and its image's bytes. */
export function previewFrameOf(event: PreviewHeader, image: Uint8Array): Uint8Array {
  const { runId, nodeId, previewId, index, mime, width, height } = event;
  return encodePreviewFrame({ runId, nodeId, previewId, index, mime, width, height }, image);
}

export function decodePreviewFrame(frame: Uint8Array): { header: PreviewHeader; image: Uint8Array } {
  if (frame.length < 4) throw new Error('Preview frame too short');
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
  if (4 + length > frame.length) throw new Error('Preview frame header overruns the frame');
  const header = PreviewHeaderSchema.parse(JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + length))));
  return { header, image: frame.subarray(4 + length) };
}
