/**
 * The configuration of one simulated network, its defaults, its limits and its cost.
 *
 * This file is the single source of truth for what a configuration can hold. The share-link codec
 * (src/link) maps it to text; the engine only ever sees a `RunConfig` that passed `validateRun`.
 */

/** Network families. */
export const NETS = ['mlp', 'cnn'] as const;
export type NetKind = (typeof NETS)[number];

/** Activation functions applied after every weight layer. */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'leaky_relu',
  'elu',
  'selu',
  'tanh',
  'sigmoid',
  'softplus',
  'gelu',
  'swish',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** Weight initializers (formulas in initializers.ts, facts in shared/REFERENCE.md). */
export const INITS = [
  'he_normal',
  'he_uniform',
  'lecun_normal',
  'lecun_uniform',
  'glorot_normal',
  'glorot_uniform',
  'normal',
  'uniform',
  'orthogonal',
  'wscale',
  'torch_default',
] as const;
export type InitName = (typeof INITS)[number];

export const FANS = ['in', 'out'] as const;
export type FanMode = (typeof FANS)[number];

export const DISTS = ['normal', 'truncated'] as const;
export type NormalDist = (typeof DISTS)[number];

/** Chainer v1 `wscale` rules: '1.8' is std = w/sqrt(fanIn) (<= v1.8.2), '1.9' is sqrt(w)/sqrt(fanIn) (v1.9.0-v1.24.0). */
export const CHAINER_RULES = ['1.8', '1.9'] as const;
export type ChainerRule = (typeof CHAINER_RULES)[number];

/** How biases are drawn: `normal` is `bias` + N(0, bias_std^2); `torch` is PyTorch's U[-1/sqrt(fanIn), 1/sqrt(fanIn)]. */
export const BIAS_INITS = ['normal', 'torch'] as const;
export type BiasInit = (typeof BIAS_INITS)[number];

/** Input distributions, all with E[x^2] = 1: N(0,1), uniform with unit variance, |N(0,1)|. */
export const DATAS = ['normal', 'uniform', 'positive'] as const;
export type DataDist = (typeof DATAS)[number];

/** One network configuration: everything needed to reproduce a run bit for bit. */
export interface RunConfig {
  net: NetKind;
  /** MLP: [dimension]; CNN: [channels, height, width]. */
  input: number[];
  depth: number;
  width: number;
  /** Per-layer widths overriding depth and width, or null. */
  widths: number[] | null;
  kernel: number;
  stride: number;
  pad: number;
  act: Activation;
  slope: number;
  init: InitName;
  /** The initializer's scale argument as Chainer defines it (see SCALE_DEFAULTS). */
  scale: number;
  fan: FanMode;
  dist: NormalDist;
  chainer: ChainerRule;
  bias: number;
  biasStd: number;
  biasInit: BiasInit;
  data: DataDist;
  n: number;
  nets: number;
  seed: string;
}

/** A share-link configuration: network A, optionally a comparison B given as overrides of A. */
export interface Config {
  a: RunConfig;
  /** Keys of B that differ from A (never equal to A's value), or null when there is no comparison. */
  b: Partial<RunConfig> | null;
}

/** The current schema version of the share link. */
export const SCHEMA_VERSION = 1;

/** Default scale per initializer: Chainer's own defaults (Normal and Uniform 0.05, Orthogonal 1.1). */
export const SCALE_DEFAULTS: Record<InitName, number> = {
  he_normal: 1,
  he_uniform: 1,
  lecun_normal: 1,
  lecun_uniform: 1,
  glorot_normal: 1,
  glorot_uniform: 1,
  normal: 0.05,
  uniform: 0.05,
  orthogonal: 1.1,
  wscale: 1,
  torch_default: 1,
};

/** Default CNN input shape. */
export const CNN_INPUT_DEFAULT = [3, 32, 32];
/** Default MLP input shape. */
export const MLP_INPUT_DEFAULT = [512];

/**
 * Every key of a configuration: its link name, default, and meaning. This one table documents the
 * defaults; `defaultRun()` and the codec read it.
 */
export const KEYS: readonly { key: keyof RunConfig; link: string; default: RunConfig[keyof RunConfig]; meaning: string }[] = [
  { key: 'net', link: 'net', default: 'mlp', meaning: 'network family: mlp or cnn' },
  { key: 'input', link: 'in', default: MLP_INPUT_DEFAULT, meaning: 'input: MLP dimension (512), CNN CxHxW (3x32x32 by default)' },
  { key: 'depth', link: 'depth', default: 30, meaning: 'number of weight layers, each followed by the activation' },
  { key: 'width', link: 'width', default: 512, meaning: 'units per dense layer (512), channels per conv layer (16 by default)' },
  { key: 'widths', link: 'widths', default: null, meaning: 'comma list of per-layer widths, overriding depth and width' },
  { key: 'kernel', link: 'kernel', default: 3, meaning: 'CNN: square kernel size' },
  { key: 'stride', link: 'stride', default: 1, meaning: 'CNN: stride' },
  { key: 'pad', link: 'pad', default: 1, meaning: 'CNN: zero padding on every side' },
  { key: 'act', link: 'act', default: 'relu', meaning: 'activation after every weight layer' },
  { key: 'slope', link: 'slope', default: 0.01, meaning: 'negative slope of leaky_relu' },
  { key: 'init', link: 'init', default: 'he_normal', meaning: 'weight initializer' },
  { key: 'scale', link: 'scale', default: 1, meaning: "initializer scale (Chainer's): std multiplier, std of normal, bound of uniform, the wscale value; default depends on init" },
  { key: 'fan', link: 'fan', default: 'in', meaning: 'fan the He/LeCun family divides by (Chainer fan_option, PyTorch mode)' },
  { key: 'dist', link: 'dist', default: 'normal', meaning: 'normal family: plain normal, or truncated at 2 std and rescaled (Keras)' },
  { key: 'chainer', link: 'chainer', default: '1.9', meaning: 'wscale rule: 1.8 (std = w/sqrt(fan_in), <= v1.8.2) or 1.9 (std = sqrt(w)/sqrt(fan_in), v1.9.0-v1.24.0)' },
  { key: 'bias', link: 'bias', default: 0, meaning: 'constant part of every bias' },
  { key: 'biasStd', link: 'bias_std', default: 0, meaning: 'std of normally drawn biases (sigma_b of mean-field theory)' },
  { key: 'biasInit', link: 'bias_init', default: 'normal', meaning: "normal: bias + N(0, bias_std^2); torch: PyTorch's default U[-1/sqrt(fan_in), 1/sqrt(fan_in)]" },
  { key: 'data', link: 'data', default: 'normal', meaning: 'input distribution: normal N(0,1), uniform (unit variance), positive |N(0,1)|' },
  { key: 'n', link: 'n', default: 256, meaning: 'samples per network' },
  { key: 'nets', link: 'nets', default: 1, meaning: 'independent networks pooled into the statistics' },
  { key: 'seed', link: 'seed', default: 'initscope', meaning: 'the seed (any string) of every random stream' },
];

/** Documented limits. Each is enforced by `validateRun` with a message naming the key and the limit. */
export const LIMITS = {
  depth: { min: 1, max: 200 },
  width: { min: 1, max: 4096 },
  inputDim: { min: 1, max: 16384 },
  channels: { min: 1, max: 512 },
  spatial: { min: 1, max: 256 },
  kernel: { min: 1, max: 15 },
  stride: { min: 1, max: 8 },
  pad: { min: 0, max: 7 },
  slope: { min: -10, max: 10 },
  scale: { min: 0, max: 1e6 },
  bias: { min: -1e6, max: 1e6 },
  biasStd: { min: 0, max: 1e6 },
  n: { min: 2, max: 65536 },
  nets: { min: 1, max: 64 },
  seedLength: { max: 64 },
  /** Multiply-adds of one run, forward and backward, all networks. */
  multiplyAdds: 2.5e11,
  /** Estimated peak bytes of one run. */
  bytes: 1.5 * 2 ** 30,
} as const;

/** The default run configuration, read from KEYS. */
export function defaultRun(): RunConfig {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) out[k.key] = Array.isArray(k.default) ? [...k.default] : k.default;
  return out as unknown as RunConfig;
}

/** Default channels per conv layer: 16 keeps a 30-layer CNN on 32x32 inputs within the run budget. */
export const CNN_WIDTH_DEFAULT = 16;

/** The default width of a network family: 512 units (MLP), 16 channels (CNN). */
export function defaultWidth(net: NetKind): number {
  return net === 'cnn' ? CNN_WIDTH_DEFAULT : 512;
}

/** The default input shape of a network family. */
export function defaultInput(net: NetKind): number[] {
  return net === 'cnn' ? [...CNN_INPUT_DEFAULT] : [...MLP_INPUT_DEFAULT];
}

/** Geometry of one weight layer: shapes as [units] (dense) or [channels, height, width] (conv). */
export interface LayerShape {
  /** 1-based layer number. */
  index: number;
  kind: 'dense' | 'conv';
  inShape: number[];
  outShape: number[];
  /** Chainer/PyTorch/Keras fan-in: in (dense), in*k*k (conv). */
  fanIn: number;
  /** Fan-out as Chainer >= v2, PyTorch and Keras define it: out (dense), out*k*k (conv). */
  fanOut: number;
  /** Weights in the layer. */
  weightCount: number;
  /** Multiply-adds of the forward pass for one sample. */
  multiplyAdds: number;
}

/** Per-layer output widths of a configuration. */
export function layerWidths(c: RunConfig): number[] {
  return c.widths ?? Array.from({ length: c.depth }, () => c.width);
}

/** Output spatial size of a conv layer: floor((size + 2 pad - kernel) / stride) + 1. */
export function convOutSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** The layers of a configuration. A conv layer whose output would be empty ends the list early. */
export function layerShapes(c: RunConfig): LayerShape[] {
  const widths = layerWidths(c);
  const shapes: LayerShape[] = [];
  let inShape = [...c.input];
  for (let i = 0; i < widths.length; i++) {
    const out = widths[i];
    if (c.net === 'mlp') {
      const fanIn = inShape[0];
      shapes.push({
        index: i + 1,
        kind: 'dense',
        inShape,
        outShape: [out],
        fanIn,
        fanOut: out,
        weightCount: fanIn * out,
        multiplyAdds: fanIn * out,
      });
      inShape = [out];
    } else {
      const [ch, h, w] = inShape;
      const oh = convOutSize(h, c.kernel, c.stride, c.pad);
      const ow = convOutSize(w, c.kernel, c.stride, c.pad);
      if (oh < 1 || ow < 1) break;
      const kk = c.kernel * c.kernel;
      shapes.push({
        index: i + 1,
        kind: 'conv',
        inShape,
        outShape: [out, oh, ow],
        fanIn: ch * kk,
        fanOut: out * kk,
        weightCount: out * ch * kk,
        multiplyAdds: out * ch * kk * oh * ow,
      });
      inShape = [out, oh, ow];
    }
  }
  return shapes;
}

/** What a run costs before it starts: multiply-adds (forward and backward, all networks) and peak bytes. */
export interface Cost {
  multiplyAdds: number;
  bytes: number;
}

/** Number of elements of a shape. */
export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The cost of a run. Multiply-adds: forward, the backward input gradient, and for conv layers the
 * per-sample weight gradient (dense layers get it from per-sample norms). Bytes: the stored
 * pre-activations of every layer (the backward pass needs them), the input, one layer's weights,
 * the working activations and, for conv layers, the im2col buffer; all float32, times `nets`
 * because all networks advance layer by layer together.
 */
export function runCost(c: RunConfig): Cost {
  const shapes = layerShapes(c);
  let macs = 0;
  let stored = sizeOf(c.input);
  let work = sizeOf(c.input);
  let weights = 0;
  for (const s of shapes) {
    macs += s.multiplyAdds * (s.kind === 'conv' ? 3 : 2);
    const outSize = sizeOf(s.outShape);
    stored += outSize;
    work = Math.max(work, outSize + sizeOf(s.inShape));
    weights = Math.max(weights, s.weightCount * 2);
    if (s.kind === 'conv') {
      const positions = s.outShape[1] * s.outShape[2];
      // One sample's im2col matrix at a time.
      weights = Math.max(weights, s.weightCount * 2 + positions * s.fanIn);
    }
  }
  const perNet = c.n * (stored + work);
  return {
    multiplyAdds: macs * c.n * c.nets,
    bytes: 4 * (c.nets * perNet + weights),
  };
}

/** One problem found in a configuration: the key (as in the link), what was wrong, and what was used instead. */
export interface Problem {
  key: string;
  message: string;
  /** The value used instead, in link form. */
  used: string;
}

/** The link name of a configuration key. */
export function linkName(key: keyof RunConfig): string {
  return KEYS.find((k) => k.key === key)!.link;
}

/** A value in its link form: `3x32x32` for the input, `64,128` for widths, numbers as JavaScript prints them. */
export function formatValue(key: keyof RunConfig, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (key === 'input' && Array.isArray(value)) return value.join('x');
  if (key === 'widths' && Array.isArray(value)) return value.join(',');
  return String(value);
}

const NORMAL_FAMILY: ReadonlySet<InitName> = new Set(['he_normal', 'lecun_normal', 'glorot_normal', 'normal']);

/** True when `dist` applies to the initializer (the normal family). */
export function usesDist(init: InitName): boolean {
  return NORMAL_FAMILY.has(init);
}

/** True when `fan` applies to the initializer (the He/LeCun family). */
export function usesFan(init: InitName): boolean {
  return init.startsWith('he_') || init.startsWith('lecun_');
}

/** A value for a message, cut to 40 characters so a hostile link cannot flood the notice. */
function quote(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}

/**
 * Checks a configuration against the types, ranges, combination rules and cost limits, and returns
 * a valid configuration with every problem named. Never throws: a bad value is replaced by its
 * default (or, for a limit, the nearest allowed value) and reported.
 */
export function validateRun(input: Partial<Record<keyof RunConfig, unknown>>): { config: RunConfig; problems: Problem[] } {
  const d = defaultRun();
  const problems: Problem[] = [];
  const c = { ...d } as RunConfig;
  const report = (key: keyof RunConfig, message: string, used: unknown) =>
    problems.push({ key: linkName(key), message, used: formatValue(key, used) });

  const pick = <K extends keyof RunConfig>(key: K, ok: (v: unknown) => boolean, why: string, fallback: RunConfig[K] = d[key]) => {
    const v = input[key];
    if (v === undefined) return;
    if (ok(v)) c[key] = v as RunConfig[K];
    else {
      report(key, `${quote(formatValue(key, v) || JSON.stringify(v))} ${why}`, fallback);
      c[key] = fallback;
    }
  };
  const oneOf = (list: readonly string[]) => (v: unknown) => typeof v === 'string' && list.includes(v);
  const within = (lim: { min: number; max: number }, integer = true) => (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) && (!integer || Number.isInteger(v)) && v >= lim.min && v <= lim.max;
  const range = (lim: { min: number; max: number }, integer = true) =>
    `is not ${integer ? 'an integer' : 'a number'} from ${lim.min} to ${lim.max}`;

  pick('net', oneOf(NETS), `is not one of ${NETS.join(', ')}`);
  const inputOk = (v: unknown) => {
    if (!Array.isArray(v) || !v.every(isInt)) return false;
    if (c.net === 'mlp') return v.length === 1 && within(LIMITS.inputDim)(v[0]);
    return v.length === 3 && within(LIMITS.channels)(v[0]) && within(LIMITS.spatial)(v[1]) && within(LIMITS.spatial)(v[2]);
  };
  c.input = defaultInput(c.net);
  pick(
    'input',
    inputOk,
    c.net === 'mlp'
      ? `is not an MLP input dimension from ${LIMITS.inputDim.min} to ${LIMITS.inputDim.max}`
      : `is not a CNN input CxHxW with C from 1 to ${LIMITS.channels.max} and H, W from 1 to ${LIMITS.spatial.max}`,
    defaultInput(c.net),
  );
  pick('depth', within(LIMITS.depth), range(LIMITS.depth));
  const widthLimit = c.net === 'mlp' ? LIMITS.width : LIMITS.channels;
  c.width = defaultWidth(c.net);
  pick('width', within(widthLimit), range(widthLimit));
  pick(
    'widths',
    (v) => v === null || (Array.isArray(v) && v.length >= LIMITS.depth.min && v.length <= LIMITS.depth.max && v.every(within(widthLimit))),
    `is not a list of ${LIMITS.depth.min} to ${LIMITS.depth.max} widths, each an integer from ${widthLimit.min} to ${widthLimit.max}`,
  );
  if (c.widths && input.depth !== undefined && c.depth !== c.widths.length) {
    report('depth', `${c.depth} disagrees with widths, which lists ${c.widths.length} layers`, c.widths.length);
  }
  if (c.widths) c.depth = c.widths.length;
  pick('kernel', within(LIMITS.kernel), range(LIMITS.kernel));
  pick('stride', within(LIMITS.stride), range(LIMITS.stride));
  pick('pad', within(LIMITS.pad), range(LIMITS.pad));
  pick('act', oneOf(ACTIVATIONS), `is not one of ${ACTIVATIONS.join(', ')}`);
  pick('slope', within(LIMITS.slope, false), range(LIMITS.slope, false));
  pick('init', oneOf(INITS), `is not one of ${INITS.join(', ')}`);
  pick('scale', within(LIMITS.scale, false), range(LIMITS.scale, false), SCALE_DEFAULTS[c.init]);
  if (input.scale === undefined) c.scale = SCALE_DEFAULTS[c.init];
  pick('fan', oneOf(FANS), `is not one of ${FANS.join(', ')}`);
  pick('dist', oneOf(DISTS), `is not one of ${DISTS.join(', ')}`);
  if (c.dist === 'truncated' && !usesDist(c.init)) {
    report('dist', `truncated does not apply to init=${c.init} (only to he_normal, lecun_normal, glorot_normal, normal)`, 'normal');
    c.dist = 'normal';
  }
  pick('chainer', oneOf(CHAINER_RULES), `is not one of ${CHAINER_RULES.join(', ')}`);
  pick('bias', within(LIMITS.bias, false), range(LIMITS.bias, false));
  pick('biasStd', within(LIMITS.biasStd, false), range(LIMITS.biasStd, false));
  pick('biasInit', oneOf(BIAS_INITS), `is not one of ${BIAS_INITS.join(', ')}`);
  pick('data', oneOf(DATAS), `is not one of ${DATAS.join(', ')}`);
  pick('n', within(LIMITS.n), range(LIMITS.n));
  pick('nets', within(LIMITS.nets), range(LIMITS.nets));
  pick(
    'seed',
    (v) => typeof v === 'string' && v.length >= 1 && [...v].length <= LIMITS.seedLength.max,
    `is not a seed of 1 to ${LIMITS.seedLength.max} characters`,
  );

  if (c.net === 'cnn') {
    let shapes = layerShapes(c);
    if (shapes.length === 0) {
      report('kernel', `${c.kernel} with stride ${c.stride} and pad ${c.pad} leaves no output positions for a ${c.input[1]}x${c.input[2]} input`, d.kernel);
      c.kernel = d.kernel;
      c.stride = d.stride;
      c.pad = d.pad;
      shapes = layerShapes(c);
    }
    if (shapes.length < c.depth) {
      report(
        'depth',
        `${c.depth} layers do not fit: with kernel ${c.kernel}, stride ${c.stride} and pad ${c.pad} the feature map is empty after layer ${shapes.length}`,
        shapes.length,
      );
      c.depth = shapes.length;
      if (c.widths) c.widths = c.widths.slice(0, shapes.length);
    }
  }

  // Cost limits: lower n first (it does not change the network), then nets, then depth.
  const fits = (x: RunConfig) => {
    const cost = runCost(x);
    return cost.multiplyAdds <= LIMITS.multiplyAdds && cost.bytes <= LIMITS.bytes;
  };
  if (!fits(c)) {
    const before = runCost(c);
    const what = `costs ${before.multiplyAdds.toExponential(2)} multiply-adds and ${(before.bytes / 2 ** 20).toFixed(0)} MiB, over the limit of ${LIMITS.multiplyAdds.toExponential(2)} multiply-adds and ${(LIMITS.bytes / 2 ** 20).toFixed(0)} MiB per run`;
    const lower = <K extends 'n' | 'nets' | 'depth'>(key: K, min: number) => {
      let lo = min;
      let hi = c[key];
      const trial = { ...c };
      trial[key] = lo;
      if (key === 'depth' && trial.widths) trial.widths = c.widths!.slice(0, lo);
      if (!fits(trial)) return false;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        trial[key] = mid;
        if (key === 'depth' && c.widths) trial.widths = c.widths.slice(0, mid);
        if (fits(trial)) lo = mid;
        else hi = mid;
      }
      report(key, `${c[key]}: this run ${what}; lower ${linkName(key)} to ${lo} or less`, lo);
      c[key] = lo;
      if (key === 'depth' && c.widths) c.widths = c.widths.slice(0, lo);
      return true;
    };
    if (!lower('n', LIMITS.n.min)) {
      report('n', `${c.n}: this run ${what}; lowered to ${LIMITS.n.min}, and that is not enough`, LIMITS.n.min);
      c.n = LIMITS.n.min;
      if (!lower('nets', LIMITS.nets.min)) {
        c.nets = LIMITS.nets.min;
        if (!lower('depth', LIMITS.depth.min)) {
          // Even one layer of two samples is too large: the layer itself is, so fall back to the
          // family's default layer and input (which always fit) and say so.
          report('width', `${formatValue('widths', c.widths) || c.width} with input ${formatValue('input', c.input)}: one layer alone ${what}`, defaultWidth(c.net));
          c.width = defaultWidth(c.net);
          c.widths = null;
          c.input = defaultInput(c.net);
          c.kernel = d.kernel;
          c.stride = d.stride;
          c.pad = d.pad;
          c.depth = 1;
        }
      }
    }
  }
  return { config: c, problems };
}
