/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// radflow serves web/dist at "/" (`radflow serve --app-dir`); the OHIF viewer stays at /ohif/.
// `npm run dev` proxies the API and DICOMweb to a radflow on RADFLOW_URL (default :8080).
const backend = process.env.RADFLOW_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/dicom-web': { target: backend, changeOrigin: false },
      '/ohif': { target: backend, changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
