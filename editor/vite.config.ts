import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const server = process.env.FACECHAIN_SERVER ?? 'http://127.0.0.1:7860';

/**
 * The editor bundle. JSX (automatic runtime) is compiled by Vite's own Oxc transform, so no React plugin
 * is needed. `vite --config editor/vite.config.ts` serves it with /api and /ws proxied to a running server.
 */
export default defineConfig({
  root: here,
  base: './',
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      // React Flow marks itself "use client" for server-component bundlers; meaningless in this SPA.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    // The page's own Host is passed on: without a token the server only answers pages from the address
    // a request names (server/auth.ts).
    proxy: {
      '/api': { target: server, changeOrigin: false },
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true, changeOrigin: false },
    },
  },
});
