import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The page's Content-Security-Policy lives in index.html's <meta>. A worker loaded from its own file
// takes its policy from that file's HTTP headers instead, so `vite preview` sends the same policy
// as a header too (static hosts should do the same; see README).
const CSP = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(readFileSync(new URL('./index.html', import.meta.url), 'utf8'))?.[1];

export default defineConfig({
  // Relative asset paths, so the built site works from any static host under any sub-path.
  base: './',
  plugins: [react()],
  worker: { format: 'es' },
  preview: { headers: CSP ? { 'Content-Security-Policy': CSP } : {} },
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
