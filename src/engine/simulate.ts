/**
 * The forward and backward passes, layer by layer. `simulate` is a generator: it yields the theory
 * first, then each layer's forward statistics as soon as every network has computed that layer, then
 * each layer's gradient statistics from the top down. The worker streams these events; the CLI and
 * the tests collect them with `runAll`.
 */
import { activation, type ActivationFn } from './activations';
import { biasMoments, drawBiases, drawWeights, weightRule } from './initializers';
import { defaultKernels, type ConvGeometry, type Kernels } from './kernels';
import { stream } from './rng';
import { layerShapes, runCost, sizeOf, type Cost, type LayerShape, type RunConfig } from './schema';
import { summarize, type Stats } from './stats';
import { theory, type TheoryLayer } from './theory';

/** Measured and prescribed statistics of a layer's weights. */
export interface WeightStats {
  mean: number;
  std: number;
  /** The std the initializer's formula prescribes. */
  expectedStd: number;
  /** The formula with its numbers, e.g. `std = sqrt(2/512) = 0.0625`. */
  formula: string;
}

/** Mean squares of the backward pass at one layer (He et al. 2015, eq. 11-14). */
export interface GradientStats {
  /** E[(dL/dy_l)^2] over samples, units, positions and networks. */
  meanSquare: number;
  /** Mean square of the per-sample weight gradient dL/dW_l. */
  weightMeanSquare: number;
}

/** Everything measured and predicted at one weight layer. */
export interface LayerResult {
  index: number;
  kind: 'dense' | 'conv';
  inShape: number[];
  outShape: number[];
  fanIn: number;
  fanOut: number;
  weight: WeightStats;
  pre: Stats;
  post: Stats;
  /** Conv: [height, width] of the position maps; null for dense layers. */
  positionShape: [number, number] | null;
  /** Conv: measured pre-activation variance per position, row-major. */
  positionVariance: number[] | null;
  /** Filled in by the backward pass. */
  gradient: GradientStats | null;
  theory: TheoryLayer;
}

/** One complete run. */
export interface RunResult {
  config: RunConfig;
  cost: Cost;
  input: Stats;
  layers: LayerResult[];
}

/** What `simulate` yields, in this order: start, forward x depth, backward x depth (top layer first). */
export type EngineEvent =
  | { type: 'start'; config: RunConfig; cost: Cost; shapes: LayerShape[]; theory: TheoryLayer[]; input: Stats }
  | { type: 'forward'; layer: LayerResult }
  | { type: 'backward'; index: number; gradient: GradientStats };

/** E[x] and E[x^2] of one input element: normal N(0,1), uniform U[-sqrt 3, sqrt 3], positive |N(0,1)|. */
export function inputMoments(data: RunConfig['data']): { mean: number; meanSquare: number } {
  return data === 'positive' ? { mean: Math.sqrt(2 / Math.PI), meanSquare: 1 } : { mean: 0, meanSquare: 1 };
}

/** Draws the input of one network: n samples, row-major, from its own stream (so n = 100 is a prefix of n = 200). */
export function drawInput(c: RunConfig, network: number): Float32Array {
  const x = new Float32Array(c.n * sizeOf(c.input));
  const rng = stream(c.seed, 'input', network, 0);
  const root3 = Math.sqrt(3);
  for (let i = 0; i < x.length; i++) {
    if (c.data === 'uniform') x[i] = root3 * (2 * rng.uniform() - 1);
    else if (c.data === 'positive') x[i] = Math.abs(rng.normal());
    else x[i] = rng.normal();
  }
  return x;
}

function geometry(c: RunConfig, s: LayerShape): ConvGeometry {
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

/** The mean-field theory of a configuration (theory.ts) with its weight and bias variances. */
export function configTheory(c: RunConfig, act: ActivationFn = activation(c.act, c.slope)): TheoryLayer[] {
  const shapes = layerShapes(c);
  return theory(
    shapes.map((shape) => {
      const bias = biasMoments(c, shape);
      return {
        shape,
        weightVariance: weightRule(c, shape).std ** 2,
        biasMean: bias.mean,
        biasVariance: bias.variance,
        kernel: c.kernel,
        stride: c.stride,
        pad: c.pad,
      };
    }),
    act,
    inputMoments(c.data),
  );
}

function applyActivation(act: ActivationFn, pre: Float32Array): Float32Array {
  const post = new Float32Array(pre.length);
  const phi = act.phi;
  for (let i = 0; i < pre.length; i++) post[i] = phi(pre[i]);
  return post;
}

function sumSquaresPerSample(x: Float32Array, n: number): Float64Array {
  const per = x.length / n;
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    let t = 0;
    for (let i = s * per, end = i + per; i < end; i++) t += x[i] * x[i];
    out[s] = t;
  }
  return out;
}

/**
 * Runs a validated configuration layer by layer. All `nets` networks advance together, so each
 * layer's statistics are pooled over every network before the layer is yielded.
 */
export function* simulate(c: RunConfig, kernels: Kernels = defaultKernels()): Generator<EngineEvent, RunResult, void> {
  const act = activation(c.act, c.slope);
  const shapes = layerShapes(c);
  const theoryLayers = configTheory(c, act);
  const saturates = c.act === 'tanh' || c.act === 'sigmoid';
  const nets = c.nets;
  const n = c.n;

  const inputs = Array.from({ length: nets }, (_, k) => drawInput(c, k));
  const input = summarize(inputs).stats;
  const cost = runCost(c);
  yield { type: 'start', config: c, cost, shapes, theory: theoryLayers, input };

  // Kept for the backward pass: every layer's pre-activations; dense layers also each sample's |x_(l-1)|^2.
  const pres: Float32Array[][] = [];
  const inputNorms: Float64Array[][] = [];
  const layers: LayerResult[] = [];
  let xs = inputs;
  for (const shape of shapes) {
    const rule = weightRule(c, shape);
    const outSize = sizeOf(shape.outShape);
    const pre: Float32Array[] = [];
    const post: Float32Array[] = [];
    const norms: Float64Array[] = [];
    let wSum = 0;
    let wSq = 0;
    for (let k = 0; k < nets; k++) {
      const w = drawWeights(c, shape, k);
      const b = drawBiases(c, shape, k);
      for (let i = 0; i < w.length; i++) {
        wSum += w[i];
        wSq += w[i] * w[i];
      }
      const y = new Float32Array(n * outSize);
      if (shape.kind === 'dense') {
        kernels.dense(xs[k], w, b, y, n, shape.fanIn, shape.outShape[0]);
        norms.push(sumSquaresPerSample(xs[k], n));
      } else {
        kernels.conv(xs[k], w, b, y, n, geometry(c, shape));
      }
      pre.push(y);
      post.push(applyActivation(act, y));
    }
    const wCount = shape.weightCount * nets;
    const wMean = wSum / wCount;
    const positions = shape.kind === 'conv' ? shape.outShape[1] * shape.outShape[2] : 0;
    const preSummary = summarize(pre, {
      saturated: saturates ? (v) => act.saturated(act.phi(v)) : undefined,
      positions: positions || undefined,
    });
    const postSummary = summarize(post, { saturated: saturates ? act.saturated : undefined });
    const result: LayerResult = {
      index: shape.index,
      kind: shape.kind,
      inShape: shape.inShape,
      outShape: shape.outShape,
      fanIn: shape.fanIn,
      fanOut: shape.fanOut,
      weight: {
        mean: wMean,
        std: Math.sqrt(Math.max(0, wSq / wCount - wMean * wMean)),
        expectedStd: rule.std,
        formula: rule.formula,
      },
      pre: preSummary.stats,
      post: postSummary.stats,
      positionShape: positions ? [shape.outShape[1], shape.outShape[2]] : null,
      positionVariance: preSummary.positionVariance ? Array.from(preSummary.positionVariance) : null,
      gradient: null,
      theory: theoryLayers[shape.index - 1],
    };
    layers.push(result);
    pres.push(pre);
    inputNorms.push(norms);
    xs = post;
    yield { type: 'forward', layer: result };
  }

  // Backward: dL/dy_L ~ N(0, 1), then g_(l-1) = (W_l^T g_l) * phi'(y_(l-1)).
  const last = shapes[shapes.length - 1];
  let gs: Float32Array[] = Array.from({ length: nets }, (_, k) => {
    const g = new Float32Array(n * sizeOf(last.outShape));
    const rng = stream(c.seed, 'gradient', k, 0);
    for (let i = 0; i < g.length; i++) g[i] = rng.normal();
    return g;
  });
  for (let l = shapes.length - 1; l >= 0; l--) {
    const shape = shapes[l];
    const out = shape.outShape[0];
    const outSize = sizeOf(shape.outShape);
    let gSq = 0;
    let wgSq = 0;
    const next: Float32Array[] = [];
    for (let k = 0; k < nets; k++) {
      const g = gs[k];
      for (let i = 0; i < g.length; i++) gSq += g[i] * g[i];
      if (shape.kind === 'dense') {
        const norms = inputNorms[l][k];
        for (let s = 0; s < n; s++) {
          let t = 0;
          for (let o = s * out, end = o + out; o < end; o++) t += g[o] * g[o];
          wgSq += t * norms[s];
        }
      } else {
        const x = l === 0 ? inputs[k] : applyActivation(act, pres[l - 1][k]);
        wgSq += kernels.convWeightGradientSquares(x, g, n, geometry(c, shape));
      }
      if (l > 0) {
        const w = drawWeights(c, shape, k);
        const below = pres[l - 1][k];
        const dx = new Float32Array(below.length);
        if (shape.kind === 'dense') kernels.denseBackward(g, w, dx, n, shape.fanIn, out);
        else kernels.convBackward(g, w, dx, n, geometry(c, shape));
        const dphi = act.dphi;
        for (let i = 0; i < dx.length; i++) dx[i] = dx[i] * dphi(below[i]);
        next.push(dx);
      }
    }
    const gradient: GradientStats = {
      meanSquare: gSq / (nets * n * outSize),
      weightMeanSquare: wgSq / (nets * n * shape.weightCount),
    };
    layers[l].gradient = gradient;
    // The stored pre-activations of this layer are no longer needed.
    pres[l] = [];
    gs = next;
    yield { type: 'backward', index: shape.index, gradient };
  }
  return { config: c, cost, input, layers };
}

/** Runs `simulate` to the end and returns the complete result. */
export function runAll(c: RunConfig, kernels?: Kernels): RunResult {
  const it = simulate(c, kernels);
  for (;;) {
    const step = it.next();
    if (step.done) return step.value;
  }
}
