/// <reference types="vitest" />
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// radflow serves web/dist at "/" (`radflow serve --app-dir`); the OHIF viewer stays at /ohif/.
// Two entries: index.html (the app, behind sign-in) and login.html (the public sign-in and
// set-up pages, served at /login and /setup; its own small bundle).
// JSX is compiled by Vite's esbuild with the automatic runtime (tsconfig "jsx": "react-jsx").
// `npm run dev` proxies the API, DICOMweb and OHIF to a radflow on RADFLOW_URL (default :8080).
const backend = process.env.RADFLOW_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        login: fileURLToPath(new URL('login.html', import.meta.url)),
      },
      // React, shared by both entries, in a chunk of its own name.
      output: { manualChunks: (id) => (/node_modules\/(react|react-dom|scheduler)\//.test(id) ? 'react' : undefined) },
    },
  },
  server: {
    proxy: {
      '/api': { target: backend },
      '/dicom-web': { target: backend },
      '/ohif': { target: backend },
      '/auth': { target: backend },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
