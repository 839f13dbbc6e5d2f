/** The image files the app reads (what sharp decodes), by name: load node, input listing, editor picker. */
const IMAGE_FILE = /\.(jpe?g|png|webp|avif|tiff?|gif|heic|heif)$/i;

export function isImageFile(name: string): boolean {
  return IMAGE_FILE.test(name);
}
