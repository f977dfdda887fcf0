/**
 * One worker's part of a run: the samples of some consecutive cells (CELL_SAMPLES samples of one
 * network each, network by network), carried through every layer forward and back. A shard answers
 * the coordinator's calls (simulate.ts) with per-cell partial statistics only; it never needs the
 * values of another shard. One shard holding every cell is the single-threaded engine; a pool of
 * workers holds one shard each.
 */
import { activation, type ActivationFn } from './activations';
import { drawBiases, drawWeights } from './initializers';
import type { ConvGeometry, Kernels } from './kernels';
import { stream } from './rng';
import { layerShapes, sizeOf, type LayerShape, type RunConfig } from './schema';
import { CELL_SAMPLES, scanDetail, scanMoments, type CellRange, type DetailParams, type DetailParts, type MomentParts } from './stats';

/** What the coordinator asks of every shard, in this order: input, forward per layer, backward per layer from the top. */
export type ShardCall =
  | { op: 'input1' }
  | { op: 'input2'; params: DetailParams }
  | { op: 'forward1'; layer: number }
  | { op: 'forward2'; layer: number; pre: DetailParams; post: DetailParams }
  | { op: 'backward'; layer: number };

/** Rows of a weight matrix per block of its moments: the unit they are summed over and merged by. */
export const WEIGHT_ROWS = 16;

/**
 * A shard's answer to `forward1`: for some row blocks of the weights of each network it holds,
 * their sum and sum of squares (the shards holding a network share its blocks out); and the first
 * scans.
 */
export interface Forward1 {
  weights: { net: number; firstBlock: number; sums: Float64Array }[];
  pre: MomentParts;
  post: MomentParts;
}

/** A shard's answer to `forward2`. */
export interface Forward2 {
  pre: DetailParts;
  post: DetailParts;
}

/** A shard's answer to `backward`: per cell, the sums of (dL/dy)^2 and of the per-sample (dL/dW)^2. */
export type Backward = Float64Array;

/** The answer type of each call. */
export interface ShardAnswers {
  input1: MomentParts;
  input2: DetailParts;
  forward1: Forward1;
  forward2: Forward2;
  backward: Backward;
}

/** The cells of a run: `blocks` per network, cell g = net * blocks + block. */
export function cellCount(c: RunConfig): { blocks: number; total: number } {
  const blocks = Math.ceil(c.n / CELL_SAMPLES);
  return { blocks, total: blocks * c.nets };
}

/** The network of each cell, in cell order. */
export function cellNets(c: RunConfig): Int32Array {
  const { blocks, total } = cellCount(c);
  return Int32Array.from({ length: total }, (_, g) => Math.floor(g / blocks));
}

/**
 * Splits a run's cells among at most `workers` shards, as evenly as whole cells allow: consecutive
 * ranges [from, to) of cell indices, none empty.
 */
export function planShards(c: RunConfig, workers: number): [number, number][] {
  const { total } = cellCount(c);
  const k = Math.max(1, Math.min(Math.floor(workers), total));
  return Array.from({ length: k }, (_, i) => [Math.round((i * total) / k), Math.round(((i + 1) * total) / k)]);
}

/** Per network, the shards of `plan` holding some of its cells, in shard order. */
export function netHolders(c: RunConfig, plan: [number, number][]): number[][] {
  const { blocks } = cellCount(c);
  return Array.from({ length: c.nets }, (_, net) => plan.flatMap(([f, t], i) => (f < (net + 1) * blocks && t > net * blocks ? [i] : [])));
}

/** Which of a network's holders draws the weights of layer `layer` (0-based) for the others: they take turns. */
export function weightOwner(holders: number[], layer: number): number {
  return holders[layer % holders.length];
}

/** A pass's weights: those of the forward pass, and the same drawn again for the backward pass. */
export type WeightPass = 'forward' | 'backward';

/** E[x] and E[x^2] of one input element: normal N(0,1), uniform U[-sqrt 3, sqrt 3], positive |N(0,1)|. */
export function inputMoments(data: RunConfig['data']): { mean: number; meanSquare: number } {
  return data === 'positive' ? { mean: Math.sqrt(2 / Math.PI), meanSquare: 1 } : { mean: 0, meanSquare: 1 };
}

/**
 * Draws the input of one network: the first `samples` samples (all n by default), row-major, from
 * its own stream (so n = 100 is a prefix of n = 200).
 */
export function drawInput(c: RunConfig, network: number, samples = c.n): Float32Array {
  const x = new Float32Array(samples * sizeOf(c.input));
  const rng = stream(c.seed, 'input', network, 0);
  // Bulk fills: the same numbers as x[i] = sqrt(3) (2 u - 1), |z| or z drawn one by one.
  if (c.data === 'uniform') rng.fillUniform(x, Math.sqrt(3));
  else {
    rng.fillNormal(x);
    if (c.data === 'positive') for (let i = 0; i < x.length; i++) x[i] = Math.abs(x[i]);
  }
  return x;
}

/** The convolution geometry of a conv layer. */
export function geometry(c: RunConfig, s: LayerShape): ConvGeometry {
  return {
    channels: s.inShape[0],
    height: s.inShape[1],
    width: s.inShape[2],
    outChannels: s.outShape[0],
    outHeight: s.outShape[1],
    outWidth: s.outShape[2],
    kernel: c.kernel,
    stride: c.stride,
    pad: c.pad,
  };
}

const weightKey = (pass: WeightPass, net: number, layer: number) => `${pass}/${net}/${layer}`;

/** The samples [from, to) of network `net` that a shard holds. */
interface Held {
  net: number;
  from: number;
  to: number;
}

function applyActivation(act: ActivationFn, pre: Float32Array, kernels: Kernels, post = new Float32Array(pre.length)): Float32Array {
  if (kernels.activate(act.name, act.slope, pre, post)) return post;
  const phi = act.phi;
  for (let i = 0; i < pre.length; i++) post[i] = phi(pre[i]);
  return post;
}

/** dx[i] = f32(dx[i] dphi(y[i])). */
function maskGradient(act: ActivationFn, y: Float32Array, dx: Float32Array, kernels: Kernels): void {
  if (kernels.maskGradient(act.name, act.slope, y, dx)) return;
  const dphi = act.dphi;
  for (let i = 0; i < dx.length; i++) dx[i] = dx[i] * dphi(y[i]);
}

/**
 * Per row block r in [first, end) of w (WEIGHT_ROWS rows of rowSize), its sum and sum of squares,
 * added in index order. Two whole blocks are summed side by side (four independent chains, each
 * in its own order), for the adder's throughput instead of its latency.
 */
function blockMoments(w: Float32Array, rowSize: number, first: number, end: number): Float64Array {
  const sums = new Float64Array(2 * (end - first));
  const size = WEIGHT_ROWS * rowSize;
  let r = first;
  for (; r + 1 < end && (r + 2) * size <= w.length; r += 2) {
    let sum0 = 0;
    let sq0 = 0;
    let sum1 = 0;
    let sq1 = 0;
    for (let i = r * size, j = i + size, stop = j; i < stop; i++, j++) {
      const v = w[i];
      const u = w[j];
      sum0 += v;
      sq0 += v * v;
      sum1 += u;
      sq1 += u * u;
    }
    sums[2 * (r - first)] = sum0;
    sums[2 * (r - first) + 1] = sq0;
    sums[2 * (r - first) + 2] = sum1;
    sums[2 * (r - first) + 3] = sq1;
  }
  for (; r < end; r++) {
    let sum = 0;
    let sumSquares = 0;
    for (let i = r * WEIGHT_ROWS * rowSize, stop = Math.min(w.length, (r + 1) * WEIGHT_ROWS * rowSize); i < stop; i++) {
      const v = w[i];
      sum += v;
      sumSquares += v * v;
    }
    sums[2 * (r - first)] = sum;
    sums[2 * (r - first) + 1] = sumSquares;
  }
  return sums;
}

/** sum of g[i]^2 over [start, end), in index order. */
function sumSquares(g: Float32Array, start: number, end: number): number {
  let t = 0;
  for (let i = start; i < end; i++) t += g[i] * g[i];
  return t;
}

/**
 * sum over samples s of (sum_o g[s, o]^2) norms[s], for the samples [first, first + samples) of a
 * dense layer with `out` units: the per-sample squared norm of dL/dW = g x^T is |g_s|^2 |x_s|^2.
 */
function denseWeightGradientSquares(g: Float32Array, norms: Float64Array, out: number, first: number, samples: number): number {
  const per = sumSquaresPerSample(g.subarray(first * out, (first + samples) * out), samples);
  let total = 0;
  for (let s = 0; s < samples; s++) total += per[s] * norms[first + s];
  return total;
}

/**
 * The sum of squares of each of the n rows of x, each added in index order; four rows side by side
 * (independent chains), for the adder's throughput instead of its latency.
 */
function sumSquaresPerSample(x: Float32Array, n: number): Float64Array {
  const per = x.length / n;
  const out = new Float64Array(n);
  let s = 0;
  for (; s + 4 <= n; s += 4) {
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let i = s * per, stop = i + per; i < stop; i++) {
      const v0 = x[i];
      const v1 = x[i + per];
      const v2 = x[i + 2 * per];
      const v3 = x[i + 3 * per];
      t0 += v0 * v0;
      t1 += v1 * v1;
      t2 += v2 * v2;
      t3 += v3 * v3;
    }
    out[s] = t0;
    out[s + 1] = t1;
    out[s + 2] = t2;
    out[s + 3] = t3;
  }
  for (; s < n; s++) out[s] = sumSquares(x, s * per, (s + 1) * per);
  return out;
}

/**
 * One shard of a run; `handle` answers the coordinator's calls. They come in the order of
 * `coordinate`, or (in a pool worker, pool.ts) run ahead of it: `input1`, then `forward1` layer by
 * layer, each `input2`/`forward2` any time after its own first scan, every `backward` from the top
 * once every second scan is done. A layer's post-activations are kept until its second scan.
 */
export class Shard {
  private readonly act: ActivationFn;
  private readonly shapes: LayerShape[];
  private readonly held: Held[];
  /** Per layer boundary (0 = input), the cells of this shard as ranges of the held arrays. */
  private readonly cellsAt: CellRange[][];
  private inputs: Float32Array[] = [];
  /** True once the input's second scan is done (`input2`): until then the input is kept. */
  private inputScanned = false;
  /** The post-activations (or the input) the next layer reads, one array per held network. */
  private xs: Float32Array[] = [];
  /** Per layer, its post-activations until its second scan (`forward2`) has read them. */
  private readonly posts: Float32Array[][] = [];
  private readonly pres: Float32Array[][] = [];
  private readonly norms: Float64Array[][] = [];
  private gs: Float32Array[] = [];

  /** Per held network: which share of its weight row blocks this shard sums, as [share, shares]. */
  private readonly weightShare: [number, number][];
  /** Per network of the run, the shards holding some of its cells. */
  private readonly holders: number[][];
  /** This shard's place in the plan. */
  private readonly index: number;
  /** Weights drawn ahead or by another shard (`give`), by `weightKey`, until their layer takes them. */
  private readonly given = new Map<string, Float32Array>();
  /** Where weights drawn when used go, the largest layer's size once seen. */
  private scratch = new Float32Array(0);

  /** The shard `index` of `plan` (planShards' ranges of cells). */
  constructor(
    private readonly c: RunConfig,
    plan: [number, number][],
    index: number,
    private readonly kernels: Kernels,
  ) {
    this.index = index;
    this.act = activation(c.act, c.slope);
    this.shapes = layerShapes(c);
    const { blocks } = cellCount(c);
    const [from, to] = plan[index];
    this.held = [];
    const cells: { h: number; s0: number; s1: number }[] = [];
    for (let g = from; g < to; g++) {
      const net = Math.floor(g / blocks);
      const s0 = (g % blocks) * CELL_SAMPLES;
      const s1 = Math.min(c.n, s0 + CELL_SAMPLES);
      let h = this.held.length - 1;
      if (h < 0 || this.held[h].net !== net) h = this.held.push({ net, from: s0, to: s1 }) - 1;
      this.held[h].to = s1;
      cells.push({ h, s0, s1 });
    }
    this.holders = netHolders(c, plan);
    this.weightShare = this.held.map(({ net }) => [this.holders[net].indexOf(index), this.holders[net].length]);
    const sizes = [sizeOf(c.input), ...this.shapes.map((s) => sizeOf(s.outShape))];
    this.cellsAt = sizes.map((size) => cells.map(({ h, s0, s1 }) => ({ net: h, start: (s0 - this.held[h].from) * size, end: (s1 - this.held[h].from) * size })));
  }

  /** Weight layers of the run. */
  get layers(): number {
    return this.shapes.length;
  }

  /** The shard whose turn it is to draw network `net`'s weights of `layer` for the others, or null when this shard alone holds `net`. */
  private turnOf(net: number, layer: number): number | null {
    const holders = this.holders[net];
    return holders.length > 1 ? weightOwner(holders, layer) : null;
  }

  /** The networks whose weights of `layer` this shard draws for their other holders: those where it is its turn. */
  turnsAt(layer: number): number[] {
    return this.held.flatMap(({ net }) => (this.turnOf(net, layer) === this.index ? [net] : []));
  }

  /** Draws the weights of network `net` at layer `layer` for `pass` now, keeps them for that layer, and returns them. */
  draw(pass: WeightPass, net: number, layer: number): Float32Array {
    const w = drawWeights(this.c, this.shapes[layer], net);
    this.given.set(weightKey(pass, net, layer), w);
    return w;
  }

  /** Hands over weights another shard drew (`draw`), for that layer to take. */
  give(pass: WeightPass, net: number, layer: number, w: Float32Array): void {
    this.given.set(weightKey(pass, net, layer), w);
  }

  /** True when every weight of `layer` for `pass` that another holder draws (its turn) has been given. */
  hasGiven(pass: WeightPass, layer: number): boolean {
    return this.held.every(({ net }) => {
      const turn = this.turnOf(net, layer);
      return turn === null || turn === this.index || this.given.has(weightKey(pass, net, layer));
    });
  }

  /**
   * The weights of `net` at `layer` for `pass`: the ones given or drawn ahead, else drawn now into
   * a buffer reused layer after layer (each layer uses them before the next is drawn).
   */
  private weights(pass: WeightPass, net: number, layer: number): Float32Array {
    const key = weightKey(pass, net, layer);
    const w = this.given.get(key);
    if (w) {
      this.given.delete(key);
      return w;
    }
    const shape = this.shapes[layer];
    const count = shape.outShape[0] * shape.fanIn;
    if (this.scratch.length < count) this.scratch = new Float32Array(count);
    return drawWeights(this.c, shape, net, this.scratch);
  }

  handle<C extends ShardCall>(call: C): ShardAnswers[C['op']] {
    switch (call.op) {
      case 'input1':
        return this.input1() as ShardAnswers[C['op']];
      case 'input2':
        return this.input2(call.params) as ShardAnswers[C['op']];
      case 'forward1':
        return this.forward1(call.layer) as ShardAnswers[C['op']];
      case 'forward2':
        return this.forward2(call.layer, call.pre, call.post) as ShardAnswers[C['op']];
      case 'backward':
        return this.backward(call.layer) as ShardAnswers[C['op']];
    }
    throw new Error(`shard: unknown call ${JSON.stringify((call as { op?: unknown }).op)}`);
  }

  private input1(): MomentParts {
    const size = sizeOf(this.c.input);
    this.inputs = this.held.map(({ net, from, to }) => {
      const x = drawInput(this.c, net, to);
      return from === 0 ? x : x.slice(from * size);
    });
    this.xs = this.inputs;
    return scanMoments(this.inputs, this.cellsAt[0], 0);
  }

  private input2(params: DetailParams): DetailParts {
    const parts = scanDetail(this.inputs, this.cellsAt[0], 0, params);
    this.inputScanned = true;
    this.releaseInput();
    return parts;
  }

  /** The input is read again only by the backward pass of a conv first layer; else it goes once scanned and used. */
  private releaseInput(): void {
    if (this.inputScanned && this.shapes[0].kind !== 'conv' && this.pres.length > 0) this.inputs = [];
  }

  private saturation(): { pre?: (v: number) => boolean; post?: (v: number) => boolean } {
    const act = this.act;
    if (this.c.act !== 'tanh' && this.c.act !== 'sigmoid') return {};
    return { pre: (v) => act.saturated(act.phi(v)), post: act.saturated };
  }

  private forward1(l: number): Forward1 {
    const c = this.c;
    const shape = this.shapes[l];
    const outSize = sizeOf(shape.outShape);
    const weights: Forward1['weights'] = [];
    const pre: Float32Array[] = [];
    const post: Float32Array[] = [];
    const norms: Float64Array[] = [];
    for (let h = 0; h < this.held.length; h++) {
      const { net, from, to } = this.held[h];
      const m = to - from;
      const w = this.weights('forward', net, l);
      const b = drawBiases(c, shape, net);
      // Every shard holding some of a network's samples has all of its weights (drawn here, or by
      // the holder whose turn it was); they share out the row blocks whose moments they report.
      const [share, shares] = this.weightShare[h];
      const rowBlocks = Math.ceil(shape.outShape[0] / WEIGHT_ROWS);
      const firstBlock = Math.floor((share * rowBlocks) / shares);
      const endBlock = Math.floor(((share + 1) * rowBlocks) / shares);
      weights.push({ net, firstBlock, sums: blockMoments(w, shape.fanIn, firstBlock, endBlock) });
      const x = this.xs[h];
      const y = new Float32Array(m * outSize);
      const values = new Float32Array(y.length);
      let activated = false;
      if (shape.kind === 'dense') {
        // The kernel may apply the activation on the way out (then `values` holds it).
        activated = this.kernels.dense(x, w, b, y, m, shape.fanIn, shape.outShape[0], { name: this.act.name, slope: this.act.slope, values });
        norms.push(sumSquaresPerSample(x, m));
      } else {
        this.kernels.conv(x, w, b, y, m, geometry(c, shape));
      }
      pre.push(y);
      post.push(activated ? values : applyActivation(this.act, y, this.kernels, values));
    }
    this.pres[l] = pre;
    this.norms[l] = norms;
    this.posts[l] = post;
    this.xs = post;
    if (l === 0) this.releaseInput();
    const positions = shape.kind === 'conv' ? shape.outShape[1] * shape.outShape[2] : 0;
    const cells = this.cellsAt[l + 1];
    const sat = this.saturation();
    return { weights, pre: scanMoments(pre, cells, positions, sat.pre), post: scanMoments(post, cells, 0, sat.post) };
  }

  private forward2(l: number, preParams: DetailParams, postParams: DetailParams): Forward2 {
    const shape = this.shapes[l];
    const positions = shape.kind === 'conv' ? shape.outShape[1] * shape.outShape[2] : 0;
    const cells = this.cellsAt[l + 1];
    const parts = { pre: scanDetail(this.pres[l], cells, positions, preParams), post: scanDetail(this.posts[l], cells, 0, postParams) };
    // The next layer still reads them through xs if this is the newest layer.
    this.posts[l] = [];
    return parts;
  }

  private backward(l: number): Backward {
    const c = this.c;
    const shape = this.shapes[l];
    const out = shape.outShape[0];
    const outSize = sizeOf(shape.outShape);
    const inSize = sizeOf(shape.inShape);
    if (l === this.shapes.length - 1) {
      // dL/dy_L ~ N(0, 1), from each network's own stream (a prefix of it for the first samples).
      this.xs = [];
      this.gs = this.held.map(({ net, from, to }) => {
        const g = new Float32Array(to * outSize);
        stream(c.seed, 'gradient', net, 0).fillNormal(g);
        return from === 0 ? g : g.slice(from * outSize);
      });
    }
    const cells = this.cellsAt[l + 1];
    const answer = new Float64Array(cells.length * 2);
    // The input of the layer, per held network, for the conv weight gradients.
    const below = l > 0 ? this.pres[l - 1] : null;
    const xs = shape.kind === 'conv' ? this.held.map((_, h) => (below ? applyActivation(this.act, below[h], this.kernels) : this.inputs[h])) : null;
    const geo = shape.kind === 'conv' ? geometry(c, shape) : null;
    for (let k = 0; k < cells.length; k++) {
      const { net: h, start, end } = cells[k];
      const g = this.gs[h];
      const gSq = sumSquares(g, start, end);
      let wgSq = 0;
      const first = start / outSize;
      const samples = (end - start) / outSize;
      if (shape.kind === 'dense') wgSq = denseWeightGradientSquares(g, this.norms[l][h], out, first, samples);
      else {
        const x = xs![h].subarray(first * inSize, (first + samples) * inSize);
        wgSq = this.kernels.convWeightGradientSquares(x, g.subarray(start, end), samples, geo!);
      }
      answer[2 * k] = gSq;
      answer[2 * k + 1] = wgSq;
    }
    if (below) {
      this.gs = this.held.map(({ net, from, to }, h) => {
        const w = this.weights('backward', net, l);
        const y = below[h];
        const dx = new Float32Array(y.length);
        let masked = false;
        if (shape.kind === 'dense') masked = this.kernels.denseBackward(this.gs[h], w, dx, to - from, shape.fanIn, out, { name: this.act.name, slope: this.act.slope, values: y });
        else this.kernels.convBackward(this.gs[h], w, dx, to - from, geo!);
        if (!masked) maskGradient(this.act, y, dx, this.kernels);
        return dx;
      });
    } else this.gs = [];
    // This layer's stored values are no longer needed.
    this.pres[l] = [];
    this.norms[l] = [];
    if (l === 0) this.inputs = [];
    return answer;
  }
}
