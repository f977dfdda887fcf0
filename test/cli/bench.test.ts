import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/bench';

async function call(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const KERNEL_KEYS = ['name', 'shape', 'gflops', 'tfjsWasmGflops', 'tfjsCpuGflops', 'ratioToTfjsWasm'];
const RUN_KEYS = ['name', 'link', 'ms', 'msPerGmac', 'peakBytes'];

const positive = (x: unknown) => {
  expect(typeof x).toBe('number');
  expect(Number.isFinite(x)).toBe(true);
  expect(x as number).toBeGreaterThan(0);
};

type Json = {
  kernels: Record<string, unknown>[];
  runs: Record<string, unknown>[];
  pool: Record<string, unknown>[];
  comparisons: Record<string, unknown>[];
  env: Record<string, any>;
};

/** The contract of `--json`: the keys, sane positive numbers, and rows that agree with tfjs. */
function checkJson(text: string): Json {
  const json = JSON.parse(text) as Json;
  expect(Object.keys(json)).toEqual(expect.arrayContaining(['kernels', 'runs']));
  expect(json.kernels).toHaveLength(5);
  expect(json.runs).toHaveLength(2);
  for (const k of json.kernels) {
    expect(Object.keys(k)).toEqual(expect.arrayContaining(KERNEL_KEYS));
    expect(typeof k.name).toBe('string');
    expect(k.shape).toMatch(/\d+x\d+/);
    for (const key of ['gflops', 'tfjsWasmGflops', 'tfjsCpuGflops', 'ratioToTfjsWasm']) positive(k[key]);
    expect(k.ratioToTfjsWasm as number).toBeCloseTo((k.gflops as number) / (k.tfjsWasmGflops as number), 9);
    // Our result and tfjs-wasm's, on the same inputs, within float32 rounding.
    expect(k.maxRelDiff as number).toBeLessThan(1e-4);
  }
  expect(json.kernels.map((k) => (k.name as string).split(' ')[0])).toEqual(['matmul', 'matmul', 'matmul', 'conv2d', 'conv2d']);
  for (const r of json.runs) {
    expect(Object.keys(r)).toEqual(expect.arrayContaining(RUN_KEYS));
    expect(r.link).toMatch(/^v=1&net=mlp&/);
    for (const key of ['ms', 'msPerGmac', 'peakBytes', 'multiplyAdds', 'macMs', 'ratioToMacTime', 'drawMs']) positive(r[key]);
    expect(r.msPerGmac as number).toBeCloseTo((r.ms as number) / ((r.multiplyAdds as number) / 1e9), 6);
  }
  // Each run on 1 and 2 pool workers, with the numbers of one worker.
  expect(json.pool.map((p) => [p.link, p.workers])).toEqual(json.runs.flatMap((r) => [[r.link, 1], [r.link, 2]]));
  for (const p of json.pool) {
    positive(p.ms);
    expect(p.identical).toBe(true);
  }
  // A comparison in turn and side by side, with the same numbers both ways.
  expect(json.comparisons).toHaveLength(1);
  for (const x of json.comparisons) {
    for (const key of ['inTurnMs', 'sideBySideMs', 'speedup']) positive(x[key]);
    expect(x.speedup as number).toBeCloseTo((x.inTurnMs as number) / (x.sideBySideMs as number), 9);
    expect(x.identical).toBe(true);
  }
  // tfjs-wasm must have loaded a binary we saw, on one thread.
  expect(json.env.tfjs.wasmBinary).toMatch(/^tfjs-backend-wasm.*\.wasm$/);
  expect(json.env.tfjs.threads).toBe(1);
  return json;
}

describe('bench', () => {
  it('--quick --json prints the issue\'s keys with positive numbers, and progress only on stderr', { timeout: 30_000 }, async () => {
    const r = await call(['--quick', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')).toHaveLength(1);
    const json = checkJson(r.out);
    expect(r.err).toContain('[bench]');
    // The row names say which kernels were measured.
    const ours = json.env.ours;
    for (const k of json.kernels) {
      const wasm = k.kind === 'matmul' ? ours.matmul === 'wasm' : ours.kernels === 'wasm';
      expect(k.name).toContain(wasm ? 'ours: wasm' : 'reference');
    }
  });

  it('measures a wasm module given by --wasm-module, and falls back where it returns null', { timeout: 30_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'initscope-bench-'));
    const stub = path.join(dir, 'index.mjs');
    fs.writeFileSync(
      stub,
      `export function wasmMatmul() {
  return (a, b, c, m, k, n) => {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) c[i * n + j] = 0;
      for (let p = 0; p < k; p++) { const x = a[i * k + p]; for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j]; }
    }
  };
}
export function wasmKernels() { return null; }
`,
    );
    try {
      const r = await call(['--quick', '--json', '--wasm-module', stub]);
      expect(r.code, r.err).toBe(0);
      const json = checkJson(r.out);
      expect(json.env.ours.matmul).toBe('wasm');
      expect(json.env.ours.kernels).toBe('reference');
      expect(json.env.ours.note).toContain('wasmKernels() returned null');
      expect(json.kernels.slice(0, 3).map((k) => k.impl)).toEqual(['wasm', 'wasm', 'wasm']);
      expect(json.kernels.slice(3).every((k) => (k.name as string).includes('reference TS, wasm unavailable'))).toBe(true);
      expect(json.runs.every((x) => x.kernels === 'reference')).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing module falls back to the reference kernels and says so; the table names them', { timeout: 30_000 }, async () => {
    const r = await call(['--quick', '--wasm-module', path.join(os.tmpdir(), 'no-such-initscope-module.ts')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('no-such-initscope-module.ts not found');
    expect(r.out).toMatch(/^matmul \(ours: reference TS, wasm unavailable\)\s+\[32x64\]@\[64x64\]/m);
    expect(r.out).toContain('tfjs-backend-wasm-simd.wasm');
    expect(r.out).toMatch(/^default-quick .*: v=1&net=mlp&/m);
  });

  it('rejects unknown arguments with exit 2', async () => {
    const r = await call(['--fast']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown argument --fast');
  });
});
