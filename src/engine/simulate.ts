/**
 * The forward and backward passes, layer by layer. `simulate` is a generator: it yields the theory
 * first, then each layer's forward statistics as soon as every network has computed that layer, then
 * each layer's gradient statistics from the top down. The worker streams these events; the CLI and
 * the tests collect them with `runAll`.
 */
import { activation } from './activations';
import { biasMoments, weightRule } from './initializers';
import { defaultKernels, type Kernels } from './kernels';
import { layerShapes, runCost, sizeOf, type Cost, type LayerShape, type RunConfig } from './schema';
import { cellCount, cellNets, inputMoments, planShards, Shard, WEIGHT_ROWS, type ShardAnswers, type ShardCall } from './shard';
import { finishStats, mergeMoments, type Stats } from './stats';
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

/** The mean-field theory of a configuration (theory.ts) with its weight and bias variances. */
export function configTheory(c: RunConfig): TheoryLayer[] {
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
    activation(c.act, c.slope),
    inputMoments(c.data),
  );
}

/** One step of the coordinator: a call every shard answers, or an event for the caller. */
export type CoordinatorStep = { type: 'call'; call: ShardCall } | { type: 'event'; event: EngineEvent };

/**
 * The coordinator of a run over shards: it yields the calls every shard must answer (in shard
 * order, the answers are passed back in as an array) and the events, merges the shards' per-cell
 * parts in cell order, and returns the complete result. The merged numbers do not depend on how
 * many shards hold the cells.
 */
export function* coordinate(c: RunConfig): Generator<CoordinatorStep, RunResult, unknown[]> {
  const shapes = layerShapes(c);
  const theoryLayers = configTheory(c);
  const nets = c.nets;
  const netsOfCells = cellNets(c);
  const cost = runCost(c);

  function* ask<O extends ShardCall['op']>(call: Extract<ShardCall, { op: O }>): Generator<CoordinatorStep, ShardAnswers[O][], unknown[]> {
    return (yield { type: 'call', call }) as ShardAnswers[O][];
  }

  const inputMoments = mergeMoments(yield* ask({ op: 'input1' }), netsOfCells, nets, 0);
  const input = finishStats(inputMoments, yield* ask({ op: 'input2', params: inputMoments.params }), 0).stats;
  yield { type: 'event', event: { type: 'start', config: c, cost, shapes, theory: theoryLayers, input } };

  const layers: LayerResult[] = [];
  for (let l = 0; l < shapes.length; l++) {
    const shape = shapes[l];
    const first = yield* ask({ op: 'forward1', layer: l });
    const positions = shape.kind === 'conv' ? shape.outShape[1] * shape.outShape[2] : 0;
    const preMoments = mergeMoments(first.map((a) => a.pre), netsOfCells, nets, positions);
    const postMoments = mergeMoments(first.map((a) => a.post), netsOfCells, nets, 0);
    const second = yield* ask({ op: 'forward2', layer: l, pre: preMoments.params, post: postMoments.params });
    const pre = finishStats(preMoments, second.map((a) => a.pre), positions);
    const post = finishStats(postMoments, second.map((a) => a.post), 0);
    // The weights' moments by row block, from whichever shards summed them, added in block order.
    const rowBlocks = Math.ceil(shape.outShape[0] / WEIGHT_ROWS);
    const blockSums = new Float64Array(2 * rowBlocks * nets);
    for (const answer of first) for (const w of answer.weights) blockSums.set(w.sums, 2 * (w.net * rowBlocks + w.firstBlock));
    let wSum = 0;
    let wSq = 0;
    for (let b = 0; b < blockSums.length; b += 2) {
      wSum += blockSums[b];
      wSq += blockSums[b + 1];
    }
    const wCount = shape.weightCount * nets;
    const wMean = wSum / wCount;
    const rule = weightRule(c, shape);
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
      pre: pre.stats,
      post: post.stats,
      positionShape: positions ? [shape.outShape[1], shape.outShape[2]] : null,
      positionVariance: pre.positionVariance ? Array.from(pre.positionVariance) : null,
      gradient: null,
      theory: theoryLayers[l],
    };
    layers.push(result);
    yield { type: 'event', event: { type: 'forward', layer: result } };
  }

  // Backward: dL/dy_L ~ N(0, 1), then g_(l-1) = (W_l^T g_l) * phi'(y_(l-1)).
  for (let l = shapes.length - 1; l >= 0; l--) {
    const shape = shapes[l];
    let gSq = 0;
    let wgSq = 0;
    for (const cells of yield* ask({ op: 'backward', layer: l })) {
      for (let k = 0; k < cells.length; k += 2) {
        gSq += cells[k];
        wgSq += cells[k + 1];
      }
    }
    const gradient: GradientStats = {
      meanSquare: gSq / (nets * c.n * sizeOf(shape.outShape)),
      weightMeanSquare: wgSq / (nets * c.n * shape.weightCount),
    };
    layers[l].gradient = gradient;
    yield { type: 'event', event: { type: 'backward', index: shape.index, gradient } };
  }
  return { config: c, cost, input, layers };
}

/** Drives the coordinator over shards in this thread, yielding its events. */
function* inThisThread(c: RunConfig, shards: Shard[]): Generator<EngineEvent, RunResult, void> {
  const steps = coordinate(c);
  let answers: unknown[] = [];
  for (;;) {
    const step = steps.next(answers);
    if (step.done) return step.value;
    const { value } = step;
    if (value.type === 'call') answers = shards.map((s) => s.handle(value.call));
    else {
      answers = [];
      yield value.event;
    }
  }
}

/**
 * Runs a validated configuration layer by layer in this thread: the coordinator over one shard that
 * holds every cell. All `nets` networks advance together, so each layer's statistics are pooled
 * over every network before the layer is yielded.
 */
export function simulate(c: RunConfig, kernels: Kernels = defaultKernels()): Generator<EngineEvent, RunResult, void> {
  return inThisThread(c, [new Shard(c, [[0, cellCount(c).total]], 0, kernels)]);
}

function finish(events: Generator<EngineEvent, RunResult, void>): RunResult {
  for (;;) {
    const step = events.next();
    if (step.done) return step.value;
  }
}

/** Runs `simulate` to the end and returns the complete result. */
export function runAll(c: RunConfig, kernels?: Kernels): RunResult {
  return finish(simulate(c, kernels));
}

/**
 * Runs a configuration over `workers` shards in this thread, one after another: what a pool of that
 * many workers computes, for tests and comparisons. The result equals `runAll`'s bit for bit.
 */
export function runSharded(c: RunConfig, workers: number, kernels: Kernels = defaultKernels()): RunResult {
  const plan = planShards(c, workers);
  return finish(inThisThread(c, plan.map((_, i) => new Shard(c, plan, i, kernels))));
}
