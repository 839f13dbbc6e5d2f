/**
 * The access token: taken from `?token=` in the page URL, kept in sessionStorage (so reloads and new
 * routes keep it) and removed from the address bar so it does not end up in screenshots or bookmarks.
 */
const KEY = 'facechain.token';

export interface TokenPlace {
  url: URL;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
}

/** Returns the token and the URL to show (without the token), or the URL unchanged. */
export function resolveToken({ url, storage }: TokenPlace): { token?: string; cleanUrl: URL } {
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(KEY, fromUrl);
    const cleanUrl = new URL(url);
    cleanUrl.searchParams.delete('token');
    return { token: fromUrl, cleanUrl };
  }
  return { token: storage.getItem(KEY) ?? undefined, cleanUrl: url };
}

/** Adds the token as a query parameter: for <img src>, downloads and the WebSocket, which cannot set headers. */
export function withToken(path: string, token: string | undefined): string {
  if (!token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}
