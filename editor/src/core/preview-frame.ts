import { z } from 'zod';

/** Binary WebSocket frames (docs/api.md): [uint32 BE header length][UTF-8 JSON header][image bytes]. */
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

export interface PreviewFrame {
  header: PreviewHeader;
  bytes: Uint8Array;
}

export function decodePreviewFrame(buffer: ArrayBuffer): PreviewFrame {
  if (buffer.byteLength < 4) throw new Error('Preview frame too short');
  const length = new DataView(buffer).getUint32(0);
  if (4 + length > buffer.byteLength) throw new Error('Preview frame header runs past the frame');
  const json = new TextDecoder().decode(new Uint8Array(buffer, 4, length));
  const header = PreviewHeaderSchema.parse(JSON.parse(json));
  return { header, bytes: new Uint8Array(buffer, 4 + length) };
}
