/**
 * `npm run bench [-- --json] [--quick]`: our kernels against TensorFlow.js (tfjs-backend-wasm with
 * SIMD on one thread, and tfjs-backend-cpu) on the same inputs in one Node process, then whole runs
 * through the engine. Every number is the median of repeated runs after warm-up. Progress goes to
 * stderr, results to stdout: a table, or with `--json` one object
 * `{"kernels": [{"name", "shape", "gflops", "tfjsWasmGflops", "tfjsCpuGflops", "ratioToTfjsWasm", ...}],
 *   "runs": [{"name", "link", "ms", "msPerGmac", "peakBytes", ...}],
 *   "pool": [{"name", "link", "workers", "ms", "speedup", "identical"}],
 *   "comparisons": [{"name", "link", "overrides", "inTurnMs", "sideBySideMs", "speedup", "identical"}], "env": {...}}`.
 *
 * Our kernels come from src/engine/wasm/index.ts (`wasmMatmul`, `wasmKernels`); where that module is
 * missing or returns null, the reference TypeScript kernels are measured and the row names say so.
 *
 * Layouts: our conv is NCHW with weights [O, C*k*k]; tfjs's is NHWC with HWIO filters. The rows
 * compare the same FLOPs on the same numbers (the NHWC input is a transposed copy of ours).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { drawWeights } from '../engine/initializers';
import { referenceKernels, type ConvGeometry, type Kernels } from '../engine/kernels';
import { Stream } from '../engine/rng';
import { layerShapes, runCost, validateRun, defaultRun, type RunConfig } from '../engine/schema';
import { simulatePooled, splitWorkers, type ShardPool } from '../engine/pool';
import { simulate, type RunResult } from '../engine/simulate';
import { encodeRun } from '../link/codec';
import { nodePool } from './nodePool';

type TF = typeof import('@tensorflow/tfjs-core');
type TFWasm = typeof import('@tensorflow/tfjs-backend-wasm');
type Matmul = (a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number) => void;

const USAGE = `usage: npm run bench [-- --json] [--quick] [--wasm-module <path>]
  --json         print one JSON object instead of the table
  --quick        small shapes, one repetition (a smoke run, used by the tests)
  --wasm-module  load our kernels from this module instead of src/engine/wasm/index.ts`;

/** Kernel ratio target (ours / tfjs-wasm) and whole-run target (run time / multiply-add time), from issue 4. */
export const TARGETS = { ratioToTfjsWasm: 1.0, ratioToMacTime: 1.3, twoWorkerSpeedup: 1.7 } as const;

/** A failure with a message meant for the user (printed without a stack trace). */
class BenchError extends Error {}

const message = (e: unknown) => (e instanceof Error ? e.message : typeof e === 'object' && e && 'message' in e ? String((e as { message: unknown }).message) : String(e));

// ---------------------------------------------------------------------------------------------
// Timing

/** How many times to run a measurement. */
interface Plan {
  /** Warm-up runs before the timed ones (at least this many; more while they are short). */
  warmups: number;
  /** Timed runs; null picks from the warm-up time. */
  reps: number | null;
  /** Total milliseconds the timed runs aim for when `reps` is null. */
  targetMs: number;
}

interface Timing {
  /** Median of the timed runs. */
  ms: number;
  reps: number;
  warmups: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Times `fn` (which must finish its work before returning) per the plan. */
function measure(fn: () => void, plan: Plan): Timing {
  let warmups = 0;
  let warmMs = 0;
  let last = 0;
  // Warm up: the planned count, then more while the total warm-up is under 300 ms (short kernels).
  while (warmups < plan.warmups || (plan.reps === null && warmMs < 300 && warmups < 10)) {
    const t = performance.now();
    fn();
    last = performance.now() - t;
    warmMs += last;
    warmups++;
  }
  const reps = plan.reps ?? (last >= 1000 ? 3 : clamp(Math.ceil(plan.targetMs / Math.max(last, 1e-3)), 5, 25));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), reps, warmups };
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** Seeded standard normal numbers, the same for every implementation. */
function randomArray(length: number, key: string): Float32Array {
  const r = new Stream(`initscope/bench/${key}`);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = r.normal();
  return out;
}

/** max |a - b| / max |b|: how far our result is from tfjs's, relative to its scale. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, index: (i: number) => number = (i) => i): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const x = a[index(i)];
    const y = b[i];
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
    if (!Number.isFinite(x)) return Infinity;
  }
  return scale > 0 ? diff / scale : diff;
}

// ---------------------------------------------------------------------------------------------
// TensorFlow.js

interface TfjsInfo {
  tf: TF;
  /** The .wasm file tfjs-backend-wasm read, as observed (null if it was not observed). */
  wasmBinary: string | null;
  wasmBinaryBytes: number | null;
  /** tfjs's own SIMD feature test. */
  simdSupported: boolean;
  /** True when the loaded binary is a SIMD build. */
  simd: boolean;
  threads: number | null;
}

let tfjsLoaded: Promise<TfjsInfo> | null = null;

/** Imports tfjs-core and both backends and initializes the wasm backend once per process. */
function loadTfjs(): Promise<TfjsInfo> {
  tfjsLoaded ??= loadTfjsOnce();
  // A failed load is not cached, so the next call reports the failure again rather than a stale promise.
  tfjsLoaded.catch(() => (tfjsLoaded = null));
  return tfjsLoaded;
}

async function importOr<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw new BenchError(`TensorFlow.js failed to load: ${name} could not be imported: ${message(e)}`);
  }
}

async function loadTfjsOnce(): Promise<TfjsInfo> {
  const coreNs = await importOr('@tensorflow/tfjs-core', () => import('@tensorflow/tfjs-core'));
  const tf = ((coreNs as { setBackend?: unknown }).setBackend ? coreNs : (coreNs as unknown as { default: TF }).default) as TF;
  await importOr('@tensorflow/tfjs-backend-cpu', () => import('@tensorflow/tfjs-backend-cpu'));
  const wasmNs = await importOr('@tensorflow/tfjs-backend-wasm', () => import('@tensorflow/tfjs-backend-wasm'));
  const tfw = ((wasmNs as { setWasmPaths?: unknown }).setWasmPaths ? wasmNs : (wasmNs as unknown as { default: TFWasm }).default) as TFWasm;

  let dist: string;
  try {
    dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
  } catch (e) {
    throw new BenchError(`TensorFlow.js failed to load: cannot locate @tensorflow/tfjs-backend-wasm's dist folder: ${message(e)}`);
  }
  if (!fs.existsSync(path.join(dist, 'tfjs-backend-wasm-simd.wasm'))) {
    throw new BenchError(`TensorFlow.js failed to load: ${path.join(dist, 'tfjs-backend-wasm-simd.wasm')} is missing`);
  }
  tfw.setWasmPaths(dist);
  if (typeof tfw.setThreadsCount === 'function') tfw.setThreadsCount(1);

  // Watch which binary Emscripten reads (it uses fs.readFileSync / fs.readFile in Node), and keep
  // tfjs's warnings, which are the only record of why a backend failed to initialize.
  const read: string[] = [];
  const warnings: string[] = [];
  const fsAny = fs as unknown as Record<'readFileSync' | 'readFile', (...args: unknown[]) => unknown>;
  const { readFileSync, readFile } = fsAny;
  const warn = console.warn;
  const note = (p: unknown) => {
    const s = p instanceof URL ? fileURLToPath(p) : String(p);
    if (s.endsWith('.wasm')) read.push(s);
  };
  fsAny.readFileSync = function (this: unknown, ...args: unknown[]) {
    note(args[0]);
    return readFileSync.apply(this, args);
  };
  fsAny.readFile = function (this: unknown, ...args: unknown[]) {
    note(args[0]);
    return readFile.apply(this, args);
  };
  console.warn = (...args: unknown[]) => warnings.push(args.map(message).join(' '));
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
    await tf.ready();
  } catch (e) {
    warnings.push(message(e));
    ok = false;
  } finally {
    fsAny.readFileSync = readFileSync;
    fsAny.readFile = readFile;
    console.warn = warn;
  }
  if (!ok || tf.getBackend() !== 'wasm') {
    // tfjs's warnings carry stacks and repeat themselves: keep each distinct first line, shortened.
    const reasons = [...new Set(warnings.map((w) => w.split(/\n\s*at /)[0].replace(/\s+/g, ' ').trim()).filter(Boolean))]
      .slice(0, 3)
      .map((w) => (w.length > 240 ? `${w.slice(0, 237)}...` : w));
    throw new BenchError(
      `TensorFlow.js failed to load: tf.setBackend('wasm') failed (binaries from ${dist})${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
    );
  }
  let threads: number | null = null;
  try {
    threads = typeof tfw.getThreadsCount === 'function' ? tfw.getThreadsCount() : null;
  } catch {
    threads = null;
  }
  const simdSupported = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const wasmBinary = read.length ? read[read.length - 1] : null;
  // Production mode: tfjs skips its debug checks (and its "install tfjs-node" notice), as a deployed app would.
  tf.enableProdMode();
  let cpuOk = false;
  try {
    cpuOk = await tf.setBackend('cpu');
  } catch (e) {
    throw new BenchError(`TensorFlow.js failed to load: tf.setBackend('cpu') threw: ${message(e)}`);
  }
  if (!cpuOk) throw new BenchError(`TensorFlow.js failed to load: tf.setBackend('cpu') failed`);
  return {
    tf,
    wasmBinary,
    wasmBinaryBytes: wasmBinary ? fs.statSync(wasmBinary).size : null,
    simdSupported,
    simd: wasmBinary !== null && /simd\.wasm$/.test(wasmBinary),
    threads,
  };
}

// ---------------------------------------------------------------------------------------------
// Our kernels

interface Ours {
  /** C = A @ B, or null to use the reference kernel. */
  matmul: Matmul | null;
  /** The engine's kernels: wasm, or the reference where wasm is unavailable. */
  kernels: Kernels;
  kernelsAreWasm: boolean;
  /** Why wasm is not (fully) used, or null. */
  note: string | null;
  module: string;
}

/** Loads our wasm kernels from `modulePath`, falling back to the reference kernels with the reason. */
async function loadOurs(modulePath: string): Promise<Ours> {
  const shown = path.relative(process.cwd(), modulePath) || modulePath;
  const fallback = (note: string): Ours => ({ matmul: null, kernels: referenceKernels, kernelsAreWasm: false, note, module: shown });
  if (!fs.existsSync(modulePath)) return fallback(`${shown} not found`);
  let mod: Record<string, unknown>;
  try {
    // A computed specifier: the module may not exist yet, and the type check must not need it.
    const spec: string = pathToFileURL(modulePath).href;
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    return fallback(`${shown} failed to import: ${message(e)}`);
  }
  try {
    if (typeof mod.ready === 'function') await (mod.ready as () => unknown)();
    else if (mod.ready instanceof Promise) await mod.ready;
    const notes: string[] = [];
    const matmul = typeof mod.wasmMatmul === 'function' ? ((mod.wasmMatmul as () => Matmul | null)() ?? null) : null;
    if (!matmul) notes.push(typeof mod.wasmMatmul === 'function' ? 'wasmMatmul() returned null' : `${shown} has no wasmMatmul`);
    const kernels = typeof mod.wasmKernels === 'function' ? ((mod.wasmKernels as () => Kernels | null)() ?? null) : null;
    if (!kernels) notes.push(typeof mod.wasmKernels === 'function' ? 'wasmKernels() returned null' : `${shown} has no wasmKernels`);
    return { matmul, kernels: kernels ?? referenceKernels, kernelsAreWasm: kernels !== null, note: notes.length ? notes.join('; ') : null, module: shown };
  } catch (e) {
    return fallback(`${shown} failed: ${message(e)}`);
  }
}

/** Prepares C = A @ B with our kernel; the reference gets B^T (its weight layout) outside the timing. */
function oursMatmul(ours: Ours, a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): () => void {
  const mm = ours.matmul;
  if (mm) return () => mm(a, b, c, m, k, n);
  const bt = new Float32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) bt[j * k + i] = b[i * n + j];
  const zeros = new Float32Array(n);
  return () => referenceKernels.dense(a, bt, zeros, c, m, k, n);
}

// ---------------------------------------------------------------------------------------------
// Kernel rows

export interface KernelRow {
  name: string;
  shape: string;
  gflops: number;
  tfjsWasmGflops: number;
  tfjsCpuGflops: number;
  ratioToTfjsWasm: number;
  /** What "ours" is: 'wasm' or 'reference'. */
  impl: 'wasm' | 'reference';
  kind: 'matmul' | 'conv2d';
  flops: number;
  ms: number;
  tfjsWasmMs: number;
  tfjsCpuMs: number;
  reps: { ours: number; tfjsWasm: number; tfjsCpu: number };
  /** max |ours - tfjs-wasm| / max |tfjs-wasm| over the output. */
  maxRelDiff: number;
  layout: string;
}

interface MatmulSpec {
  m: number;
  k: number;
  n: number;
}

interface ConvSpec {
  batch: number;
  channels: number;
  size: number;
  outChannels: number;
  kernel: number;
  pad: number;
}

const FULL = {
  matmul: [
    { m: 256, k: 512, n: 512 },
    { m: 1024, k: 1024, n: 1024 },
    { m: 64, k: 4096, n: 4096 },
  ] as MatmulSpec[],
  conv: [
    { batch: 64, channels: 16, size: 32, outChannels: 16, kernel: 3, pad: 1 },
    // The issue leaves the batch of this row open: 64, like the other conv row.
    { batch: 64, channels: 3, size: 64, outChannels: 64, kernel: 3, pad: 1 },
  ] as ConvSpec[],
};

const QUICK = {
  matmul: [
    { m: 32, k: 64, n: 64 },
    { m: 64, k: 64, n: 64 },
    { m: 8, k: 256, n: 256 },
  ] as MatmulSpec[],
  conv: [
    { batch: 2, channels: 4, size: 8, outChannels: 4, kernel: 3, pad: 1 },
    { batch: 2, channels: 3, size: 16, outChannels: 8, kernel: 3, pad: 1 },
  ] as ConvSpec[],
};

type Log = (s: string) => void;

type Tensor = ReturnType<TF['tensor']>;

/**
 * Times `op` on `backend`: the inputs are made once on that backend, each timed run computes the
 * output and reads it back (dataSync), and every tensor is disposed.
 */
async function timeTfjs(tf: TF, backend: 'wasm' | 'cpu', plan: Plan, inputs: () => Tensor[], op: (inputs: Tensor[]) => Tensor): Promise<{ t: Timing; out: Float32Array }> {
  if (!(await tf.setBackend(backend))) throw new BenchError(`TensorFlow.js failed: tf.setBackend('${backend}') failed`);
  const made = inputs();
  let out: Float32Array = new Float32Array(0);
  try {
    const t = measure(() => {
      const y = op(made);
      out = y.dataSync() as Float32Array;
      y.dispose();
    }, plan);
    return { t, out };
  } finally {
    for (const x of made) x.dispose();
  }
}

async function matmulRow(spec: MatmulSpec, ours: Ours, info: TfjsInfo, plan: Plan, log: Log): Promise<KernelRow> {
  const { m, k, n } = spec;
  const { tf } = info;
  const shape = `[${m}x${k}]@[${k}x${n}]`;
  const a = randomArray(m * k, `matmul/${m}x${k}x${n}/a`);
  const b = randomArray(k * n, `matmul/${m}x${k}x${n}/b`);
  const c = new Float32Array(m * n);
  const flops = 2 * m * k * n;
  const impl = ours.matmul ? 'wasm' : 'reference';
  log(`matmul ${shape}: ours (${impl})`);
  const o = measure(oursMatmul(ours, a, b, c, m, k, n), plan);
  const inputs = () => [tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])];
  const op = ([ta, tb]: Tensor[]) => tf.matMul(ta, tb);
  log(`matmul ${shape}: tfjs-wasm`);
  const w = await timeTfjs(tf, 'wasm', plan, inputs, op);
  log(`matmul ${shape}: tfjs-cpu`);
  const cpu = await timeTfjs(tf, 'cpu', plan, inputs, op);
  const gflops = flops / (o.ms * 1e6);
  const tfjsWasmGflops = flops / (w.t.ms * 1e6);
  return {
    name: impl === 'wasm' ? 'matmul (ours: wasm)' : `matmul (ours: reference TS, wasm unavailable)`,
    shape,
    gflops,
    tfjsWasmGflops,
    tfjsCpuGflops: flops / (cpu.t.ms * 1e6),
    ratioToTfjsWasm: gflops / tfjsWasmGflops,
    impl,
    kind: 'matmul',
    flops,
    ms: o.ms,
    tfjsWasmMs: w.t.ms,
    tfjsCpuMs: cpu.t.ms,
    reps: { ours: o.reps, tfjsWasm: w.t.reps, tfjsCpu: cpu.t.reps },
    maxRelDiff: relDiff(c, w.out),
    layout: 'row-major A[m,k], B[k,n] for both (reference: B^T prepared outside the timing)',
  };
}

async function convRow(spec: ConvSpec, ours: Ours, info: TfjsInfo, plan: Plan, log: Log): Promise<KernelRow> {
  const { batch: N, channels: C, size: H, outChannels: O, kernel: K, pad } = spec;
  const W = H;
  const OH = H + 2 * pad - K + 1;
  const OW = OH;
  const { tf } = info;
  const geo: ConvGeometry = { channels: C, height: H, width: W, outChannels: O, outHeight: OH, outWidth: OW, kernel: K, stride: 1, pad };
  const shape = `${N}x${C}x${H}x${W} -> ${N}x${O}x${OH}x${OW}, ${K}x${K}, pad ${pad}`;
  const key = `conv/${N}x${C}x${H}x${O}x${K}`;
  const x = randomArray(N * C * H * W, `${key}/x`); // NCHW
  const w = randomArray(O * C * K * K, `${key}/w`); // [O, C*k*k]
  const bias = new Float32Array(O);
  const y = new Float32Array(N * O * OH * OW);
  // The same numbers in tfjs's layouts: NHWC input, HWIO filter.
  const xNhwc = new Float32Array(x.length);
  for (let s = 0; s < N; s++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) xNhwc[((s * H + i) * W + j) * C + c] = x[((s * C + c) * H + i) * W + j];
  const fHwio = new Float32Array(w.length);
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) fHwio[((i * K + j) * C + c) * O + o] = w[o * C * K * K + (c * K + i) * K + j];
  const flops = 2 * N * OH * OW * O * C * K * K;
  const conv = ours.kernels.conv;
  const impl = ours.kernelsAreWasm ? 'wasm' : 'reference';
  log(`conv2d ${shape}: ours (${impl})`);
  const o = measure(() => conv(x, w, bias, y, N, geo), plan);
  const inputs = () => [tf.tensor4d(xNhwc, [N, H, W, C]), tf.tensor4d(fHwio, [K, K, C, O])];
  const op = ([tx, tw]: Tensor[]) => tf.conv2d(tx as Parameters<TF['conv2d']>[0], tw as Parameters<TF['conv2d']>[1], 1, pad);
  log(`conv2d ${shape}: tfjs-wasm`);
  const tw = await timeTfjs(tf, 'wasm', plan, inputs, op);
  log(`conv2d ${shape}: tfjs-cpu`);
  const cpu = await timeTfjs(tf, 'cpu', plan, inputs, op);
  const gflops = flops / (o.ms * 1e6);
  const tfjsWasmGflops = flops / (tw.t.ms * 1e6);
  // tfjs output index i is NHWC; map it to our NCHW index.
  const P = OH * OW;
  const toNchw = (i: number) => {
    const ch = i % O;
    const rest = (i - ch) / O; // s*P + p
    const p = rest % P;
    const s = (rest - p) / P;
    return (s * O + ch) * P + p;
  };
  return {
    name: `conv2d ${C}->${O} (ours: ${impl === 'wasm' ? 'wasm' : 'reference TS, wasm unavailable'})`,
    shape,
    gflops,
    tfjsWasmGflops,
    tfjsCpuGflops: flops / (cpu.t.ms * 1e6),
    ratioToTfjsWasm: gflops / tfjsWasmGflops,
    impl,
    kind: 'conv2d',
    flops,
    ms: o.ms,
    tfjsWasmMs: tw.t.ms,
    tfjsCpuMs: cpu.t.ms,
    reps: { ours: o.reps, tfjsWasm: tw.t.reps, tfjsCpu: cpu.t.reps },
    maxRelDiff: relDiff(y, tw.out, toNchw),
    layout: 'ours NCHW, weights [O, C*k*k], bias added (zeros); tfjs NHWC, HWIO filter, no bias',
  };
}

// ---------------------------------------------------------------------------------------------
// Whole runs

export interface RunRow {
  name: string;
  link: string;
  ms: number;
  msPerGmac: number;
  /** Live memory: max over events, after a gc at each, of (arrayBuffers + heapUsed) minus the value before the run (an untimed run); the sampled peak where that is not measurable. */
  peakBytes: number;
  /** The same sampled during the timed runs without gc: live memory plus garbage not yet collected. */
  peakSampledBytes: number;
  kernels: 'wasm' | 'reference';
  multiplyAdds: number;
  /** runCost's estimate of the peak bytes. */
  predictedBytes: number;
  /** Peak minus baseline of the resident set size, sampled at the same points. */
  peakRssBytes: number;
  /** The multiply-adds at our matmul rate on the run's layer shape (the median of the rates measured around each timed run). */
  macMs: number;
  /** The median over timed runs of its time / the multiply-add time at the rate measured just before and after it; the target is <= 1.3. */
  ratioToMacTime: number;
  /**
   * Drawing the run's weights alone, twice per layer as the run does (forward, and again for the
   * backward pass instead of keeping them), on one thread: part of ms that is neither products nor statistics.
   */
  drawMs: number;
  /** The matmul shape and rate used for macMs. */
  macShape: string;
  macGflops: number;
  reps: number;
  warmups: number;
  /** What validateRun changed in the requested configuration (empty when it passed unchanged). */
  problems: string[];
}

let gcFn: (() => void) | null | undefined;

/** `global.gc`, exposed on the fly when Node was started without --expose-gc; null if impossible. */
function gc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    v8.setFlagsFromString('--expose-gc');
    const f = vm.runInNewContext('gc') as unknown;
    gcFn = typeof f === 'function' ? (f as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/**
 * The live memory of a run: a gc at every event (untimed). Null without gc, or when a tiny run's
 * live memory is below what heapUsed resolves (then the caller reports the sampled peak).
 */
function livePeak(c: RunConfig, kernels: Kernels): number | null {
  const collect = gc();
  if (!collect) return null;
  collect();
  const m0 = process.memoryUsage();
  const base = m0.arrayBuffers + m0.heapUsed;
  let peak = 0;
  for (const _ of simulate(c, kernels)) {
    collect();
    const m = process.memoryUsage();
    peak = Math.max(peak, m.arrayBuffers + m.heapUsed - base);
  }
  return peak > 0 ? peak : null;
}

/** ms to draw every weight of a run twice (the forward pass's, and the backward pass's again). */
function timeDraws(c: RunConfig): number {
  const shapes = layerShapes(c);
  const t0 = performance.now();
  for (let pass = 0; pass < 2; pass++) for (const shape of shapes) for (let net = 0; net < c.nets; net++) drawWeights(c, shape, net);
  return performance.now() - t0;
}

/** One run through `simulate`, with memory sampled before and at every yielded event. */
function timedRun(c: RunConfig, kernels: Kernels): { ms: number; peak: number; peakRss: number } {
  gc()?.();
  const m0 = process.memoryUsage();
  const base = m0.arrayBuffers + m0.heapUsed;
  let peak = base;
  let peakRss = m0.rss;
  const t0 = performance.now();
  const it = simulate(c, kernels);
  for (;;) {
    const step = it.next();
    const m = process.memoryUsage();
    peak = Math.max(peak, m.arrayBuffers + m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
    if (step.done) break;
  }
  return { ms: performance.now() - t0, peak: peak - base, peakRss: peakRss - m0.rss };
}

interface RunSpec {
  name: string;
  request: Partial<RunConfig>;
}

const FULL_RUNS: RunSpec[] = [
  { name: 'default', request: {} },
  { name: 'large (depth 50, width 1024, input 1024, n 1024, ReLU MLP)', request: { net: 'mlp', depth: 50, width: 1024, input: [1024], n: 1024, act: 'relu' } },
];

const QUICK_RUNS: RunSpec[] = [
  { name: 'default-quick (depth 4, width 64, input 64, n 32)', request: { depth: 4, width: 64, input: [64], n: 32 } },
  { name: 'large-quick (depth 6, width 128, input 128, n 64, ReLU MLP)', request: { net: 'mlp', depth: 6, width: 128, input: [128], n: 64, act: 'relu' } },
];

/** The dense layer with the most multiply-adds, as a matmul [n x fanIn] @ [fanIn x out]. */
function mainShape(c: RunConfig): MatmulSpec {
  const shapes = layerShapes(c);
  const top = shapes.reduce((a, b) => (b.multiplyAdds > a.multiplyAdds ? b : a), shapes[0]);
  if (top.kind !== 'dense') throw new BenchError(`bench: run ${encodeRun(c)} is not an MLP; only dense runs are benchmarked`);
  return { m: c.n, k: top.fanIn, n: top.outShape[0] };
}

async function runRows(ours: Ours, quick: boolean, log: Log): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  let msPerGmacSoFar: number | null = null;
  for (const spec of quick ? QUICK_RUNS : FULL_RUNS) {
    const { config, problems } = validateRun({ ...defaultRun(), ...spec.request });
    const problemText = problems.map((p) => `${p.key}: ${p.message} (used ${p.used})`);
    for (const p of problemText) log(`${spec.name}: validateRun changed the configuration: ${p}`);
    const cost = runCost(config);
    const gmac = cost.multiplyAdds / 1e9;

    // The rate of our matmul on the run's layer shape, measured next to each timed run (this
    // machine's speed drifts by a third within minutes): each ratio compares neighbours.
    const ms = mainShape(config);
    const macShape = `[${ms.m}x${ms.k}]@[${ms.k}x${ms.n}]`;
    const a = randomArray(ms.m * ms.k, `run/${macShape}/a`);
    const b = randomArray(ms.k * ms.n, `run/${macShape}/b`);
    const cc = new Float32Array(ms.m * ms.n);
    const matmul = oursMatmul(ours, a, b, cc, ms.m, ms.k, ms.n);
    const rate = () => {
      const t = measure(matmul, quick ? { warmups: 1, reps: 1, targetMs: 0 } : { warmups: 1, reps: null, targetMs: 1000 });
      return (2 * ms.m * ms.k * ms.n) / (t.ms * 1e6);
    };

    // Repetitions: a cheap run is warmed up and repeated; an expensive one relies on the JIT warmed by
    // the runs before it (same code) and is repeated less.
    const estimate = !quick && msPerGmacSoFar !== null ? msPerGmacSoFar * gmac : null;
    let warmups: number;
    let reps: number;
    if (quick) {
      warmups = 0;
      reps = 1;
    } else if (estimate === null || estimate < 20_000) {
      warmups = 1;
      reps = -1; // decided after the warm-up
    } else {
      warmups = 0;
      reps = estimate < 150_000 ? 3 : 1;
    }
    const times: number[] = [];
    const rates: number[] = [];
    const ratios: number[] = [];
    let peak = 0;
    let peakRss = 0;
    const one = (label: string) => {
      log(`${spec.name}: ${label} (${gmac.toFixed(2)} GMAC, kernels: ${ours.kernelsAreWasm ? 'wasm' : 'reference'})${estimate ? `, about ${(estimate / 1000).toFixed(0)} s each` : ''}`);
      const r = timedRun(config, ours.kernels);
      peak = Math.max(peak, r.peak);
      peakRss = Math.max(peakRss, r.peakRss);
      return r.ms;
    };
    let warmMs = 0;
    for (let i = 0; i < warmups; i++) warmMs = one(`warm-up ${i + 1}/${warmups}`);
    if (reps < 0) reps = clamp(Math.ceil(20_000 / Math.max(warmMs, 1)), 3, 7);
    // One rate between each two runs serves both: the one after a run is the one before the next.
    const macMsAt = (gflops: number) => (2 * cost.multiplyAdds) / (gflops * 1e6);
    let before = rate();
    for (let i = 0; i < reps; i++) {
      const ms1 = one(`run ${i + 1}/${reps}`);
      const after = rate();
      const gflops = (before + after) / 2;
      before = after;
      times.push(ms1);
      rates.push(gflops);
      ratios.push(ms1 / macMsAt(gflops));
    }
    const t = median(times);
    const macGflops = median(rates);
    const macMs = macMsAt(macGflops);
    msPerGmacSoFar = t / gmac;
    log(`${spec.name}: drawing its weights alone`);
    const drawMs = median(Array.from({ length: quick ? 1 : 3 }, () => timeDraws(config)));
    log(`${spec.name}: live memory (a gc at every event, untimed)`);
    const live = livePeak(config, ours.kernels);
    rows.push({
      name: spec.name,
      link: encodeRun(config),
      ms: t,
      msPerGmac: t / gmac,
      peakBytes: live ?? peak,
      peakSampledBytes: peak,
      kernels: ours.kernelsAreWasm ? 'wasm' : 'reference',
      multiplyAdds: cost.multiplyAdds,
      predictedBytes: cost.bytes,
      peakRssBytes: peakRss,
      macMs,
      ratioToMacTime: median(ratios),
      drawMs,
      macShape,
      macGflops,
      reps,
      warmups,
      problems: problemText,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The worker pool

export interface PoolRow {
  name: string;
  link: string;
  workers: number;
  /** Median over the repetitions (1 and 2 workers alternate, so both see the same machine). */
  ms: number;
  /** ms with one worker / ms with this many; the target with two is >= 1.7. */
  speedup: number;
  /** The result equals the one-worker result bit for bit (it must). */
  identical: boolean;
  reps: number;
}

/** A short run of `c`'s shape (at most 4 layers), to warm a pool's workers up. */
const warmUpOf = (c: RunConfig) => validateRun({ ...c, depth: Math.min(c.depth, 4) }).config;

async function pooledRun(c: RunConfig, pool: ShardPool, workers?: number[]): Promise<{ ms: number; result: RunResult }> {
  const t0 = performance.now();
  const it = simulatePooled(c, pool, undefined, workers);
  for (;;) {
    const step = await it.next();
    if (step.done) return { ms: performance.now() - t0, result: step.value };
  }
}

/** Each run (default and large) on pools of 1 and 2 worker threads, alternating so that both see the same machine. */
async function poolRows(quick: boolean, log: Log): Promise<PoolRow[]> {
  const counts = [1, 2];
  const pools = counts.map((k) => nodePool(k));
  const rows: PoolRow[] = [];
  try {
    for (const spec of quick ? QUICK_RUNS : FULL_RUNS) {
      const { config } = validateRun({ ...defaultRun(), ...spec.request });
      const warm = warmUpOf(config);
      const reps = quick ? 1 : 5;
      const times = counts.map(() => [] as number[]);
      const results: string[] = [];
      for (const [i, k] of counts.entries()) {
        log(`pool: warm-up with ${k} worker${k > 1 ? 's' : ''}`);
        await pooledRun(warm, pools[i].pool);
      }
      for (let r = 0; r < reps; r++)
        for (const [i, k] of counts.entries()) {
          log(`pool: ${spec.name} with ${k} worker${k > 1 ? 's' : ''}, run ${r + 1}/${reps}`);
          const { ms, result } = await pooledRun(config, pools[i].pool);
          times[i].push(ms);
          if (r === 0) results[i] = JSON.stringify(result);
        }
      const one = median(times[0]);
      for (const [i, k] of counts.entries())
        rows.push({ name: spec.name, link: encodeRun(config), workers: k, ms: median(times[i]), speedup: one / median(times[i]), identical: results[i] === results[0], reps });
    }
    return rows;
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

export interface ComparisonRow {
  name: string;
  /** A's link; B is A with `overrides`. */
  link: string;
  overrides: Partial<RunConfig>;
  /** Median ms of A then B, each on both workers (alternating with the next). */
  inTurnMs: number;
  /** Median ms of A and B at once, each on one worker, as the app runs a comparison. */
  sideBySideMs: number;
  /** inTurnMs / sideBySideMs. */
  speedup: number;
  /** Both ways gave the same numbers for A and for B. */
  identical: boolean;
  reps: number;
}

const COMPARISONS: { name: string; request: Partial<RunConfig>; overrides: Partial<RunConfig> }[] = [
  { name: 'default: A He normal, B wscale sqrt(2) under Chainer v1.9', request: {}, overrides: { init: 'wscale', scale: Math.SQRT2, chainer: '1.9' } },
];

/** A comparison (A and B) on two workers: one after the other on both, and side by side on one each, alternating. */
async function comparisonRows(quick: boolean, log: Log): Promise<ComparisonRow[]> {
  const { pool, close } = nodePool(2);
  const rows: ComparisonRow[] = [];
  try {
    for (const spec of COMPARISONS) {
      const scale = quick ? { depth: 4, width: 64, input: [64], n: 32 } : {};
      const a = validateRun({ ...defaultRun(), ...spec.request, ...scale }).config;
      const b = validateRun({ ...a, ...spec.overrides }).config;
      const reps = quick ? 1 : 5;
      const inTurn: number[] = [];
      const together: number[] = [];
      let identical = true;
      await pooledRun(warmUpOf(a), pool);
      // The workers the app gives A and B side by side.
      const [onA, onB] = splitWorkers(2, [runCost(a).multiplyAdds, runCost(b).multiplyAdds]);
      for (let r = 0; r < reps; r++) {
        log(`comparison: ${spec.name}, in turn, run ${r + 1}/${reps}`);
        const t0 = performance.now();
        const ra = await pooledRun(a, pool);
        const rb = await pooledRun(b, pool);
        inTurn.push(performance.now() - t0);
        log(`comparison: ${spec.name}, side by side, run ${r + 1}/${reps}`);
        const t1 = performance.now();
        const [sa, sb] = await Promise.all([pooledRun(a, pool, onA), pooledRun(b, pool, onB)]);
        together.push(performance.now() - t1);
        if (r === 0) identical = JSON.stringify(ra.result) === JSON.stringify(sa.result) && JSON.stringify(rb.result) === JSON.stringify(sb.result);
      }
      const inTurnMs = median(inTurn);
      const sideBySideMs = median(together);
      rows.push({ name: quick ? `${spec.name} (quick: depth 4, width 64, n 32)` : spec.name, link: encodeRun(a), overrides: spec.overrides, inTurnMs, sideBySideMs, speedup: inTurnMs / sideBySideMs, identical, reps });
    }
    return rows;
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------------------------
// Output

export interface BenchEnv {
  node: string;
  cpu: string;
  hardwareThreads: number;
  quick: boolean;
  /** What "ours" measured. */
  ours: { module: string; matmul: 'wasm' | 'reference'; kernels: 'wasm' | 'reference'; note: string | null };
  tfjs: {
    wasmBinary: string | null;
    wasmBinaryBytes: number | null;
    simdSupported: boolean;
    simd: boolean;
    threads: number | null;
    prodMode: boolean;
  };
  memory: { gcBeforeEachRun: boolean; sampled: string };
  targets: typeof TARGETS;
}

export interface BenchResult {
  kernels: KernelRow[];
  runs: RunRow[];
  pool: PoolRow[];
  comparisons: ComparisonRow[];
  env: BenchEnv;
}

function table(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

function formatResult(r: BenchResult): string {
  const e = r.env;
  const out: string[] = [];
  out.push(`initscope bench${e.quick ? ' (--quick: small shapes, 1 repetition; not a measurement)' : ''}`);
  out.push(`Node ${e.node}, ${e.cpu}, ${e.hardwareThreads} hardware threads; everything on one thread but the pool rows`);
  out.push(
    `ours: matmul ${e.ours.matmul}, engine kernels ${e.ours.kernels}${e.ours.note ? ` (reference because ${e.ours.note})` : ''}`,
  );
  out.push(
    `tfjs-wasm: ${e.tfjs.wasmBinary ? path.basename(e.tfjs.wasmBinary) : 'binary not observed'} (${e.tfjs.simd ? 'SIMD' : 'NO SIMD'}; tfjs SIMD test ${e.tfjs.simdSupported ? 'passed' : 'failed'}; ${e.tfjs.threads ?? '?'} thread${e.tfjs.threads === 1 ? '' : 's'}); tfjs-cpu: plain JS; tfjs in production mode`,
  );
  out.push('');
  out.push('Kernels: GFLOP/s (2*m*k*n or 2*batch*outH*outW*outC*inC*k*k per second), median after warm-up; target ours/tfjs-wasm >= 1.0');
  out.push(
    table(
      ['kernel', 'shape', 'ours', 'tfjs-wasm', 'tfjs-cpu', 'ours/wasm', 'ours ms', 'reps o/w/c', 'rel diff'],
      r.kernels.map((k) => [
        k.name,
        k.shape,
        f(k.gflops),
        f(k.tfjsWasmGflops),
        f(k.tfjsCpuGflops),
        `${f(k.ratioToTfjsWasm)}${k.ratioToTfjsWasm >= TARGETS.ratioToTfjsWasm ? '' : ' x'}`,
        f(k.ms, 1),
        `${k.reps.ours}/${k.reps.tfjsWasm}/${k.reps.tfjsCpu}`,
        k.maxRelDiff.toExponential(1),
      ]),
      [false, false, true, true, true, true, true, true, true],
    ),
  );
  out.push('conv layouts: ours NCHW with weights [O, C*k*k]; tfjs NHWC with HWIO filters (same numbers, same FLOPs). "x": below target.');
  out.push('');
  out.push(`Whole runs through the engine (forward + backward + statistics); mult-add ms = multiply-adds at our matmul rate on the run's layer shape, measured around each timed run; ratio = median of each run's time over the multiply-add time next to it; target <= ${TARGETS.ratioToMacTime}`);
  out.push(
    table(
      ['run', 'kernels', 'ms', 'ms/GMAC', 'GMAC', 'mult-add ms', 'ratio', 'draw ms', 'peak MiB', 'sampled MiB', 'rss MiB', 'predicted MiB', 'reps'],
      r.runs.map((x) => [
        x.name,
        x.kernels,
        f(x.ms, 0),
        f(x.msPerGmac, 1),
        (x.multiplyAdds / 1e9).toPrecision(3),
        `${f(x.macMs, 0)} (${x.macShape} at ${f(x.macGflops)} GFLOP/s)`,
        `${f(x.ratioToMacTime)}${x.ratioToMacTime <= TARGETS.ratioToMacTime ? '' : ' x'}`,
        f(x.drawMs, 0),
        mib(x.peakBytes),
        mib(x.peakSampledBytes),
        mib(x.peakRssBytes),
        mib(x.predictedBytes),
        `${x.reps}${x.warmups ? ` (+${x.warmups} warm-up)` : ''}`,
      ]),
      [false, false, true, true, true, false, true, true, true, true, true, true, true],
    ),
  );
  out.push('draw ms: drawing the run\'s weights alone, twice per layer as the run does (the backward pass draws them again rather than keep them), on one thread.');
  if (r.runs.some((x) => x.kernels === 'reference' && x.ratioToMacTime < 1)) {
    out.push('ratio < 1 with the reference kernels: they skip zero inputs (about half of a ReLU layer\'s), which the dense matmul row never has; it does not mean the statistics are free.');
  }
  out.push('');
  out.push(`The runs on a pool of worker threads (the cells of samples split between them, merged in a fixed order); target speedup of the large run with 2 workers >= ${TARGETS.twoWorkerSpeedup}`);
  out.push(
    table(
      ['run', 'workers', 'ms', 'speedup', 'same numbers', 'reps'],
      r.pool.map((x) => [x.name, String(x.workers), f(x.ms, 0), `${f(x.speedup)}${x.workers === 2 && x.name.startsWith('large') && x.speedup < TARGETS.twoWorkerSpeedup ? ' x' : ''}`, x.identical ? 'yes' : 'NO', String(x.reps)]),
      [false, true, true, true, false, true],
    ),
  );
  out.push('');
  out.push('A comparison (A and B) on 2 workers: one after the other, each split over both workers, against side by side on one worker each (as the app runs it)');
  out.push(
    table(
      ['comparison', 'in turn ms', 'side by side ms', 'speedup', 'same numbers', 'reps'],
      r.comparisons.map((x) => [x.name, f(x.inTurnMs, 0), f(x.sideBySideMs, 0), f(x.speedup), x.identical ? 'yes' : 'NO', String(x.reps)]),
      [false, true, true, true, false, true],
    ),
  );
  out.push(`peak = live memory: max over events, after a gc at each (an untimed run), of (arrayBuffers + heapUsed) minus the value before the run${e.memory.gcBeforeEachRun ? '' : ' (no gc available: sampled without gc)'}; sampled = the same during the timed runs, garbage included; rss likewise.`);
  for (const x of r.runs) {
    out.push(`${x.name}: ${x.link}`);
    for (const p of x.problems) out.push(`  validateRun changed it: ${p}`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// main

/** The default location of our wasm kernels (another engineer's module; may not exist yet). */
export const WASM_MODULE = fileURLToPath(new URL('../engine/wasm/index.ts', import.meta.url));

/** Runs the benchmark and returns the exit code: 0, 1 when something failed to load, 2 for bad arguments. */
export async function main(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let json = false;
  let quick = false;
  let wasmModule = WASM_MODULE;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      out(USAGE);
      return 0;
    } else if (a === '--json') json = true;
    else if (a === '--quick') quick = true;
    else if (a === '--wasm-module' || a.startsWith('--wasm-module=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) {
        err(`--wasm-module needs a path\n${USAGE}`);
        return 2;
      }
      wasmModule = path.resolve(v);
    } else {
      err(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  const log: Log = (s) => err(`[bench] ${s}`);
  try {
    log('loading TensorFlow.js (wasm with one thread, and cpu)');
    const info = await loadTfjs();
    const binary = info.wasmBinary ? path.basename(info.wasmBinary) : null;
    log(`tfjs-wasm loaded ${binary ?? '(binary not observed)'}${info.wasmBinaryBytes ? `, ${info.wasmBinaryBytes} bytes` : ''}; SIMD ${info.simd ? 'yes' : 'NO'}; threads ${info.threads ?? 'unknown'}`);
    if (!info.simd) log(`warning: tfjs-wasm is not running its SIMD binary; its numbers are not the SIMD baseline the issue asks for`);
    if (info.threads !== null && info.threads !== 1) log(`warning: tfjs-wasm uses ${info.threads} threads, not 1`);
    const ours = await loadOurs(wasmModule);
    log(`ours: matmul ${ours.matmul ? 'wasm' : 'reference'}, engine kernels ${ours.kernelsAreWasm ? 'wasm' : 'reference'}${ours.note ? ` (${ours.note})` : ''}`);

    const plan: Plan = quick ? { warmups: 1, reps: 1, targetMs: 0 } : { warmups: 1, reps: null, targetMs: 1500 };
    const shapes = quick ? QUICK : FULL;
    const kernels: KernelRow[] = [];
    for (const s of shapes.matmul) kernels.push(await matmulRow(s, ours, info, plan, log));
    for (const s of shapes.conv) kernels.push(await convRow(s, ours, info, plan, log));
    for (const k of kernels) if (!(k.maxRelDiff < 1e-3)) log(`warning: ${k.name} ${k.shape} differs from tfjs-wasm by ${k.maxRelDiff} (relative)`);
    const runs = await runRows(ours, quick, log);
    const pool = await poolRows(quick, log);
    for (const p of pool) if (!p.identical) log(`warning: the pool with ${p.workers} workers gave other numbers than with 1`);
    const comparisons = await comparisonRows(quick, log);
    for (const x of comparisons) if (!x.identical) log(`warning: ${x.name} gave other numbers side by side than in turn`);

    const result: BenchResult = {
      kernels,
      runs,
      pool,
      comparisons,
      env: {
        node: process.version,
        cpu: os.cpus()[0]?.model.trim() ?? 'unknown cpu',
        hardwareThreads: os.availableParallelism?.() ?? os.cpus().length,
        quick,
        ours: { module: ours.module, matmul: ours.matmul ? 'wasm' : 'reference', kernels: ours.kernelsAreWasm ? 'wasm' : 'reference', note: ours.note },
        tfjs: {
          wasmBinary: binary,
          wasmBinaryBytes: info.wasmBinaryBytes,
          simdSupported: info.simdSupported,
          simd: info.simd,
          threads: info.threads,
          prodMode: true,
        },
        memory: { gcBeforeEachRun: gc() !== null, sampled: 'process.memoryUsage() arrayBuffers + heapUsed, before the run and at each event simulate() yields; peakBytes after a gc at each event (an untimed run), peakSampledBytes without' },
        targets: TARGETS,
      },
    };
    out(json ? JSON.stringify(result) : formatResult(result));
    return 0;
  } catch (e) {
    err(e instanceof BenchError ? e.message : `bench failed: ${message(e)}`);
    return 1;
  }
}

// Run only as a command, not when imported by the tests.
if (process.argv[1] && /bench\.[cm]?[jt]s$/.test(process.argv[1])) {
  main(
    process.argv.slice(2),
    (s) => process.stdout.write(s + '\n'),
    (s) => process.stderr.write(s + '\n'),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`bench failed: ${message(e)}\n`);
      process.exitCode = 1;
    },
  );
}
