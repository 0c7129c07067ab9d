/// <reference types="vitest" />
import { defineConfig } from 'vite';

// radflow serves web/dist at "/" (`radflow serve --app-dir`); the OHIF viewer stays at /ohif/.
// JSX is compiled by Vite's esbuild with the automatic runtime (tsconfig "jsx": "react-jsx").
// `npm run dev` proxies the API, DICOMweb and OHIF to a radflow on RADFLOW_URL (default :8080).
const backend = process.env.RADFLOW_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: backend },
      '/dicom-web': { target: backend },
      '/ohif': { target: backend },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
