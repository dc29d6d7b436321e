// Built by `npm run build:dashboard`, or by startAdmin() on first start (src/admin/dashboard-build.ts).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  // Preact's automatic JSX runtime, without a Babel-based plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 300 },
  logLevel: 'warn',
});
