/**
 * Reads every exported snippet back: the layer constructors, the initializer calls and their
 * parameters. Each layer's std is recomputed here from those parameters with the formulas of
 * shared/REFERENCE.md, written out again in this file (no call to weightRule), and compared with the
 * std the engine prescribes.
 */
import { describe, expect, it } from 'vitest';
import { codeSnippet, FRAMEWORKS, pyFloat, type Framework, type Snippet } from '../../src/engine/codeExport';
import { biasMoments, weightRule } from '../../src/engine/initializers';
import { defaultRun, layerShapes, validateRun, type RunConfig } from '../../src/engine/schema';

// ----------------------------------------------------------------------------------------------
// A small evaluator for the Python expressions the snippets use: numbers, + - * / **, parentheses,
// math.sqrt(...) and math.pi.

function evalPy(src: string): number {
  const tokens = src.match(/\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|math\.sqrt|math\.pi|\*\*|[-+*/()]|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    const tok = tokens[i++];
    if (t !== undefined && tok !== t) throw new Error(`expected ${t} in ${src}, got ${tok}`);
    return tok;
  };
  const atom = (): number => {
    const t = take();
    if (t === '(') {
      const v = expr();
      take(')');
      return v;
    }
    if (t === 'math.sqrt') {
      take('(');
      const v = expr();
      take(')');
      return Math.sqrt(v);
    }
    if (t === 'math.pi') return Math.PI;
    if (t !== undefined && /^[\d.]/.test(t)) return Number(t);
    throw new Error(`cannot evaluate ${JSON.stringify(src)} at ${t}`);
  };
  const unary = (): number => {
    if (peek() === '-') {
      take();
      return -unary();
    }
    if (peek() === '+') {
      take();
      return unary();
    }
    const base = atom();
    if (peek() === '**') {
      take();
      return base ** unary();
    }
    return base;
  };
  const term = (): number => {
    let v = unary();
    while (peek() === '*' || peek() === '/') v = take() === '*' ? v * unary() : v / unary();
    return v;
  };
  const expr = (): number => {
    let v = term();
    while (peek() === '+' || peek() === '-') v = take() === '+' ? v + term() : v - term();
    return v;
  };
  const v = expr();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${src}`);
  return v;
}

/** Comments removed, so that no number in a comment is read as a parameter. */
function stripComments(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n');
}

interface Call {
  positional: string[];
  keyword: Record<string, string>;
}

/** Every call of `name(` in `text`, with its arguments split at top-level commas. */
function calls(text: string, name: string): Call[] {
  const out: Call[] = [];
  let from = 0;
  for (;;) {
    const at = text.indexOf(`${name}(`, from);
    if (at < 0) return out;
    // A longer identifier ending in `name` is another function.
    if (at > 0 && /[\w.]/.test(text[at - 1])) {
      from = at + 1;
      continue;
    }
    let depth = 0;
    let j = at + name.length;
    const parts: string[] = [];
    let cur = '';
    for (; j < text.length; j++) {
      const ch = text[j];
      if (ch === '(' || ch === '[') {
        if (depth > 0) cur += ch;
        depth++;
        continue;
      }
      if (ch === ')' || ch === ']') {
        depth--;
        if (depth === 0) break;
        cur += ch;
        continue;
      }
      if (ch === ',' && depth === 1) {
        parts.push(cur);
        cur = '';
        continue;
      }
      cur += ch;
    }
    parts.push(cur);
    const call: Call = { positional: [], keyword: {} };
    for (const raw of parts) {
      const p = raw.trim();
      if (p === '') continue;
      const kw = p.match(/^([A-Za-z_]\w*)\s*=(?!=)\s*([\s\S]*)$/);
      if (kw) call.keyword[kw[1]] = kw[2].trim();
      else call.positional.push(p);
    }
    out.push(call);
    from = j;
  }
}

function one(text: string, name: string): Call {
  const found = calls(text, name);
  expect(found, `exactly one ${name}(...) in\n${text}`).toHaveLength(1);
  return found[0];
}

const str = (v: string | undefined) => v?.replace(/^['"]|['"]$/g, '');
const num = (v: string | undefined, fallback?: number): number => {
  if (v === undefined) {
    if (fallback === undefined) throw new Error('missing parameter');
    return fallback;
  }
  return evalPy(v);
};

// ----------------------------------------------------------------------------------------------
// The formulas of REFERENCE.md, independently.

/** Std of a unit normal truncated to [-c, c], by Simpson's rule on the density (no shared constant). */
function truncatedUnitStd(c: number): number {
  const n = 4000;
  const h = (2 * c) / n;
  let mass = 0;
  let second = 0;
  for (let k = 0; k <= n; k++) {
    const z = -c + k * h;
    const w = k === 0 || k === n ? 1 : k % 2 ? 4 : 2;
    const density = Math.exp(-z * z / 2);
    mass += w * density;
    second += w * z * z * density;
  }
  return Math.sqrt(second / mass);
}

/** PyTorch calculate_gain. */
function torchGain(nonlinearity: string, param: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
    case 'selu':
      return 3 / 4;
  }
  throw new Error(`unknown nonlinearity ${nonlinearity}`);
}

type Family = 'normal' | 'truncated' | 'uniform' | 'orthogonal' | 'zeros';

interface ParsedLayer {
  inChannels: number;
  out: number;
  kernel: number;
  stride: number;
  pad: number;
  family: Family;
  std: number;
  biasMean: number;
  biasVariance: number;
}

interface Fans {
  fanIn: number;
  fanOut: number;
}

const uniformStd = (lo: number, hi: number) => (hi - lo) / Math.sqrt(12);

/** A weight drawn N(0, sigma^2) and cut at [a, b]: the family and the std of what is kept. */
function truncatedDraw(mean: number, sigma: number, a: number, b: number): { family: Family; std: number } {
  expect(mean).toBe(0);
  expect(Math.abs(a + b)).toBeLessThanOrEqual(1e-12 * Math.abs(b));
  const cut = b / sigma;
  // initscope (like Keras) cuts at two of the pre-truncation stds.
  expect(Math.abs(cut - 2)).toBeLessThan(1e-9);
  return { family: 'truncated', std: sigma * truncatedUnitStd(cut) };
}

// PyTorch --------------------------------------------------------------------------------------

function parseTorch(block: string, prevOut: number): ParsedLayer {
  const linear = calls(block, 'nn.Linear');
  const conv = calls(block, 'nn.Conv2d');
  expect(linear.length + conv.length).toBe(1);
  let inChannels: number, out: number, kernel = 1, stride = 1, pad = 0;
  if (linear.length) {
    [inChannels, out] = linear[0].positional.map(Number);
  } else {
    const k = conv[0];
    [inChannels, out] = k.positional.map(Number);
    kernel = num(k.keyword.kernel_size);
    stride = num(k.keyword.stride, 1);
    pad = num(k.keyword.padding, 0);
  }
  expect(inChannels).toBe(prevOut);
  const f: Fans = { fanIn: inChannels * kernel * kernel, fanOut: out * kernel * kernel };
  const onWeight = (name: string) => calls(block, name).filter((c) => c.positional[0] === 'layer.weight');
  const inits = [
    'nn.init.kaiming_normal_',
    'nn.init.kaiming_uniform_',
    'nn.init.xavier_normal_',
    'nn.init.xavier_uniform_',
    'nn.init.normal_',
    'nn.init.uniform_',
    'nn.init.trunc_normal_',
    'nn.init.orthogonal_',
    'nn.init.zeros_',
  ].flatMap((name) => onWeight(name).map((call) => ({ name, call })));
  expect(inits.length).toBeLessThanOrEqual(1);
  let w: { family: Family; std: number };
  if (inits.length === 0) {
    // nn.Linear / nn.Conv2d default: kaiming_uniform_(a=sqrt(5)), mode fan_in, nonlinearity leaky_relu.
    const bound = (Math.sqrt(3) * torchGain('leaky_relu', Math.sqrt(5))) / Math.sqrt(f.fanIn);
    w = { family: 'uniform', std: bound / Math.sqrt(3) };
  } else {
    const { name, call } = inits[0];
    const kw = call.keyword;
    const fan = (str(kw.mode) ?? 'fan_in') === 'fan_out' ? f.fanOut : f.fanIn;
    const gain = () => torchGain(str(kw.nonlinearity) ?? 'leaky_relu', num(kw.a, 0));
    switch (name) {
      case 'nn.init.kaiming_normal_':
        w = { family: 'normal', std: gain() / Math.sqrt(fan) };
        break;
      case 'nn.init.kaiming_uniform_':
        w = { family: 'uniform', std: (Math.sqrt(3) * gain()) / Math.sqrt(fan) / Math.sqrt(3) };
        break;
      case 'nn.init.xavier_normal_':
        w = { family: 'normal', std: num(kw.gain, 1) * Math.sqrt(2 / (f.fanIn + f.fanOut)) };
        break;
      case 'nn.init.xavier_uniform_':
        w = { family: 'uniform', std: (num(kw.gain, 1) * Math.sqrt(6 / (f.fanIn + f.fanOut))) / Math.sqrt(3) };
        break;
      case 'nn.init.normal_':
        expect(num(kw.mean, 0)).toBe(0);
        w = { family: 'normal', std: num(kw.std, 1) };
        break;
      case 'nn.init.uniform_': {
        const lo = num(kw.a, 0);
        const hi = num(kw.b, 1);
        expect(lo).toBe(-hi);
        w = { family: 'uniform', std: uniformStd(lo, hi) };
        break;
      }
      case 'nn.init.trunc_normal_':
        w = truncatedDraw(num(kw.mean, 0), num(kw.std, 1), num(kw.a, -2), num(kw.b, 2));
        break;
      case 'nn.init.orthogonal_':
        // Rows = out, columns = the rest flattened; min(rows, cols) orthonormal vectors of length max.
        w = { family: 'orthogonal', std: num(kw.gain, 1) / Math.sqrt(Math.max(out, f.fanIn)) };
        break;
      default:
        w = { family: 'zeros', std: 0 };
    }
  }
  for (const m of block.matchAll(/layer\.weight\.data\.mul_\(([^\n]*)\)\s*$/gm)) w.std *= Math.abs(evalPy(m[1]));

  const onBias = (name: string) => calls(block, name).filter((c) => c.positional[0] === 'layer.bias');
  let biasMean = 0;
  let biasVariance = 1 / (3 * f.fanIn); // the default U[-1/sqrt(fan_in), 1/sqrt(fan_in)]
  const biasCalls = ['nn.init.zeros_', 'nn.init.constant_', 'nn.init.normal_', 'nn.init.uniform_'].flatMap((n) => onBias(n).map((call) => ({ n, call })));
  expect(biasCalls.length).toBeLessThanOrEqual(1);
  if (biasCalls.length) {
    const { n, call } = biasCalls[0];
    if (n === 'nn.init.zeros_') [biasMean, biasVariance] = [0, 0];
    else if (n === 'nn.init.constant_') [biasMean, biasVariance] = [num(call.positional[1] ?? call.keyword.val), 0];
    else if (n === 'nn.init.normal_') [biasMean, biasVariance] = [num(call.keyword.mean, 0), num(call.keyword.std, 1) ** 2];
    else {
      const lo = num(call.keyword.a, 0);
      const hi = num(call.keyword.b, 1);
      [biasMean, biasVariance] = [(lo + hi) / 2, uniformStd(lo, hi) ** 2];
    }
  }
  return { inChannels, out, kernel, stride, pad, ...w, biasMean, biasVariance };
}

function torchActivationOk(block: string, c: RunConfig): void {
  const m = block.match(/layers \+= \[layer, (.*)\]/);
  expect(m, 'activation after the layer').not.toBeNull();
  const act = m![1];
  const expected: Record<RunConfig['act'], RegExp> = {
    linear: /^nn\.Identity\(\)$/,
    relu: /^nn\.ReLU\(\)$/,
    leaky_relu: /^nn\.LeakyReLU\(negative_slope=(.+)\)$/,
    elu: /^nn\.ELU\((alpha=1\.0)?\)$/,
    selu: /^nn\.SELU\(\)$/,
    tanh: /^nn\.Tanh\(\)$/,
    sigmoid: /^nn\.Sigmoid\(\)$/,
    softplus: /^nn\.Softplus\(\)$/,
    gelu: /^nn\.GELU\((approximate='none')?\)$/,
    swish: /^nn\.SiLU\(\)$/,
  };
  const hit = act.match(expected[c.act]);
  expect(hit, `${act} is ${c.act}`).not.toBeNull();
  if (c.act === 'leaky_relu') expect(evalPy(hit![1])).toBe(c.slope);
}

// Keras ----------------------------------------------------------------------------------------

function kerasInitializer(expr: string, f: Fans, out: number): { family: Family; std: number } {
  const m = expr.match(/^initializers\.(\w+)\(/);
  expect(m, expr).not.toBeNull();
  const name = m![1];
  const call = one(expr, `initializers.${name}`);
  const kw = call.keyword;
  const varianceScaling = (scale: number, mode: string, distribution: string) => {
    expect(scale).toBeGreaterThan(0); // Keras raises otherwise
    const n = mode === 'fan_in' ? f.fanIn : mode === 'fan_out' ? f.fanOut : (f.fanIn + f.fanOut) / 2;
    const variance = scale / Math.max(1, n);
    if (distribution === 'truncated_normal') return { family: 'truncated' as Family, std: (Math.sqrt(variance) / 0.87962566103423978) * truncatedUnitStd(2) };
    if (distribution === 'untruncated_normal') return { family: 'normal' as Family, std: Math.sqrt(variance) };
    expect(distribution).toBe('uniform');
    return { family: 'uniform' as Family, std: Math.sqrt(3 * variance) / Math.sqrt(3) };
  };
  switch (name) {
    case 'VarianceScaling':
      return varianceScaling(num(kw.scale, 1), str(kw.mode) ?? 'fan_in', str(kw.distribution) ?? 'truncated_normal');
    case 'HeNormal':
      return varianceScaling(2, 'fan_in', 'truncated_normal');
    case 'HeUniform':
      return varianceScaling(2, 'fan_in', 'uniform');
    case 'GlorotNormal':
      return varianceScaling(1, 'fan_avg', 'truncated_normal');
    case 'GlorotUniform':
      return varianceScaling(1, 'fan_avg', 'uniform');
    case 'LecunNormal':
      return varianceScaling(1, 'fan_in', 'truncated_normal');
    case 'RandomNormal':
      expect(num(kw.mean, 0)).toBe(0);
      return { family: 'normal', std: num(kw.stddev, 0.05) };
    case 'TruncatedNormal':
      expect(num(kw.mean, 0)).toBe(0);
      return { family: 'truncated', std: num(kw.stddev, 0.05) * truncatedUnitStd(2) };
    case 'RandomUniform': {
      const lo = num(kw.minval, -0.05);
      const hi = num(kw.maxval, 0.05);
      expect(lo).toBe(-hi);
      return { family: 'uniform', std: uniformStd(lo, hi) };
    }
    case 'Orthogonal':
      // Kernel flattened to (kh*kw*in, out).
      return { family: 'orthogonal', std: num(kw.gain, 1) / Math.sqrt(Math.max(f.fanIn, out)) };
    case 'Zeros':
      return { family: 'zeros', std: 0 };
  }
  throw new Error(`unknown Keras initializer ${name}`);
}

function kerasBias(expr: string | undefined, fanIn: number): { biasMean: number; biasVariance: number } {
  if (expr === undefined) return { biasMean: 0, biasVariance: 0 };
  const name = expr.match(/^initializers\.(\w+)\(/)![1];
  const call = one(expr, `initializers.${name}`);
  switch (name) {
    case 'Zeros':
      return { biasMean: 0, biasVariance: 0 };
    case 'Constant':
      return { biasMean: num(call.positional[0] ?? call.keyword.value), biasVariance: 0 };
    case 'RandomNormal':
      return { biasMean: num(call.keyword.mean, 0), biasVariance: num(call.keyword.stddev, 0.05) ** 2 };
    case 'RandomUniform': {
      const lo = num(call.keyword.minval, -0.05);
      const hi = num(call.keyword.maxval, 0.05);
      return { biasMean: (lo + hi) / 2, biasVariance: uniformStd(lo, hi) ** 2 };
    }
  }
  throw new Error(`unknown Keras bias initializer ${name} (fan_in ${fanIn})`);
}

function parseKeras(block: string, prevOut: number, c: RunConfig): ParsedLayer {
  const dense = calls(block, 'layers.Dense');
  const conv = calls(block, 'layers.Conv2D');
  expect(dense.length + conv.length).toBe(1);
  const call = dense[0] ?? conv[0];
  const out = Number(call.positional[0]);
  let kernel = 1, stride = 1, pad = 0;
  if (conv.length) {
    kernel = num(call.keyword.kernel_size);
    stride = num(call.keyword.strides, 1);
    const zero = calls(block, 'layers.ZeroPadding2D');
    const zeroPad = zero.length ? num(zero[0].keyword.padding ?? zero[0].positional[0]) : 0;
    const mode = str(call.keyword.padding) ?? 'valid';
    if (mode === 'same') {
      // 'same' is symmetric only for stride 1 and an odd kernel.
      expect(stride).toBe(1);
      expect(kernel % 2).toBe(1);
      expect(zeroPad).toBe(0);
      pad = (kernel - 1) / 2;
    } else {
      expect(mode).toBe('valid');
      pad = zeroPad;
    }
  }
  const f: Fans = { fanIn: prevOut * kernel * kernel, fanOut: out * kernel * kernel };
  const w = kerasInitializer(call.keyword.kernel_initializer, f, out);
  const b = kerasBias(call.keyword.bias_initializer, f.fanIn);
  // Activation: the layer's own, or a separate layer after it for leaky_relu.
  const act = str(call.keyword.activation) ?? 'linear';
  const names: Record<RunConfig['act'], string[]> = {
    linear: ['linear'],
    relu: ['relu'],
    leaky_relu: ['linear'],
    elu: ['elu'],
    selu: ['selu'],
    tanh: ['tanh'],
    sigmoid: ['sigmoid'],
    softplus: ['softplus'],
    gelu: ['gelu'],
    swish: ['swish', 'silu'],
  };
  expect(names[c.act]).toContain(act);
  if (c.act === 'leaky_relu') {
    const layer = calls(block, 'layers.LeakyReLU');
    if (layer.length) {
      expect(c.slope).toBeGreaterThanOrEqual(0); // Keras refuses a negative slope
      expect(num(layer[0].keyword.negative_slope)).toBe(c.slope);
    } else {
      const m = block.match(/layers\.Activation\(lambda x: keras\.ops\.maximum\(x, 0\.0\) - (.+) \* keras\.ops\.minimum\(x, 0\.0\)\)/);
      expect(m, 'leaky relu as max(x, 0) + slope min(x, 0)').not.toBeNull();
      expect(-evalPy(m![1])).toBe(c.slope);
    }
  }
  return { inChannels: prevOut, out, kernel, stride, pad, ...w, ...b };
}

// Chainer --------------------------------------------------------------------------------------

/** The wscale release rule a Chainer v1 snippet says it targets, read from its comment. */
function releaseRule(code: string): '1.8' | '1.9' | null {
  const m = code.match(/Release rule: Chainer (v1\.0\.0-v1\.8\.2|v1\.9\.0-v1\.24\.0)/);
  return m === null ? null : m[1] === 'v1.0.0-v1.8.2' ? '1.8' : '1.9';
}

function parseChainer(block: string, prevOut: number, v1: boolean, rule: '1.8' | '1.9' | null): ParsedLayer {
  const linear = calls(block, 'L.Linear');
  const conv = calls(block, 'L.Convolution2D');
  expect(linear.length + conv.length).toBe(1);
  const call = linear[0] ?? conv[0];
  const [inChannels, out] = call.positional.slice(0, 2).map(Number);
  let kernel = 1, stride = 1, pad = 0;
  if (conv.length) {
    kernel = num(call.keyword.ksize ?? call.positional[2]);
    stride = num(call.keyword.stride, 1);
    pad = num(call.keyword.pad, 0);
  }
  expect(inChannels).toBe(prevOut);
  const fanIn = inChannels * kernel * kernel;
  // Chainer v1: fan_out of a conv weight is the out channels alone; from v2.0.0b1 out*kh*kw.
  const fanOut = v1 ? out : out * kernel * kernel;
  const kw = call.keyword;
  let w: { family: Family; std: number };
  if (kw.wscale !== undefined) {
    expect(v1, 'wscale exists only in Chainer v1').toBe(true);
    expect(kw.initialW).toBeUndefined();
    expect(rule, 'a wscale snippet names its release rule').not.toBeNull();
    const ws = num(kw.wscale);
    // v1.0.0-v1.8.2: std = wscale/sqrt(fan_in); v1.9.0-v1.24.0: sqrt(wscale)/sqrt(fan_in).
    w = { family: 'normal', std: rule === '1.8' ? ws / Math.sqrt(fanIn) : Math.sqrt(ws) / Math.sqrt(fanIn) };
  } else if (kw.initialW === undefined) {
    // Default initialW: std 1/sqrt(fan_in) from v1.9 on.
    w = { family: 'normal', std: 1 / Math.sqrt(fanIn) };
  } else if (kw.initialW.startsWith('orthogonal(')) {
    expect(v1).toBe(true);
    const h = one(kw.initialW, 'orthogonal');
    const shape = h.positional[0].replace(/[()]/g, '').split(',').map(Number);
    expect(shape).toEqual(conv.length ? [out, inChannels, kernel, kernel] : [out, inChannels]);
    w = { family: 'orthogonal', std: num(h.keyword.scale) / Math.sqrt(Math.max(out, fanIn)) };
  } else {
    const m = kw.initialW.match(/^I\.(\w+)\(/);
    expect(m, kw.initialW).not.toBeNull();
    const name = m![1];
    const k = one(kw.initialW, `I.${name}`).keyword;
    const scale = (fallback: number) => num(k.scale, fallback);
    if (v1) {
      expect(k.fan_option, 'fan_option exists only from v4').toBeUndefined();
      expect(name, 'LeCunNormal exists only from v3').not.toBe('LeCunNormal');
    }
    switch (name) {
      case 'HeNormal': {
        const fan = (str(k.fan_option) ?? 'fan_in') === 'fan_out' ? fanOut : fanIn;
        w = { family: 'normal', std: scale(1) * Math.sqrt(2 / fan) };
        break;
      }
      case 'HeUniform':
        expect(k.fan_option).toBeUndefined();
        w = { family: 'uniform', std: (scale(1) * Math.sqrt(6 / fanIn)) / Math.sqrt(3) };
        break;
      case 'LeCunNormal':
        expect(k.fan_option).toBeUndefined();
        w = { family: 'normal', std: scale(1) * Math.sqrt(1 / fanIn) };
        break;
      case 'LeCunUniform':
        w = { family: 'uniform', std: (scale(1) * Math.sqrt(3 / fanIn)) / Math.sqrt(3) };
        break;
      case 'GlorotNormal':
        w = { family: 'normal', std: scale(1) * Math.sqrt(2 / (fanIn + fanOut)) };
        break;
      case 'GlorotUniform':
        w = { family: 'uniform', std: (scale(1) * Math.sqrt(6 / (fanIn + fanOut))) / Math.sqrt(3) };
        break;
      case 'Normal':
        w = { family: 'normal', std: scale(0.05) };
        break;
      case 'Uniform':
        w = { family: 'uniform', std: scale(0.05) / Math.sqrt(3) };
        break;
      case 'Orthogonal':
        // Before v7 Orthogonal raises when the rows (out) outnumber the columns (fan_in).
        if (v1) expect(out).toBeLessThanOrEqual(fanIn);
        w = { family: 'orthogonal', std: scale(1.1) / Math.sqrt(Math.max(out, fanIn)) };
        break;
      default:
        throw new Error(`unknown Chainer initializer ${name}`);
    }
  }
  let biasMean = 0;
  let biasVariance = 0;
  if (kw.initial_bias !== undefined) {
    const b = kw.initial_bias;
    if (b.startsWith('numpy.random.normal(')) {
      const n = one(b, 'numpy.random.normal');
      expect(Number(n.positional[2])).toBe(out);
      [biasMean, biasVariance] = [num(n.positional[0]), num(n.positional[1]) ** 2];
    } else if (b.startsWith('numpy.random.uniform(')) {
      const n = one(b, 'numpy.random.uniform');
      expect(Number(n.positional[2])).toBe(out);
      const lo = num(n.positional[0]);
      const hi = num(n.positional[1]);
      [biasMean, biasVariance] = [(lo + hi) / 2, uniformStd(lo, hi) ** 2];
    } else {
      expect(v1, 'initializer objects as initial_bias need v1.9+; the v1 snippet uses arrays').toBe(false);
      const name = b.match(/^I\.(\w+)\(/)![1];
      const k = one(b, `I.${name}`);
      if (name === 'Zero') [biasMean, biasVariance] = [0, 0];
      else if (name === 'Constant') [biasMean, biasVariance] = [num(k.positional[0] ?? k.keyword.fill_value), 0];
      else if (name === 'Normal') [biasMean, biasVariance] = [0, num(k.keyword.scale, 0.05) ** 2];
      else if (name === 'Uniform') [biasMean, biasVariance] = [0, num(k.keyword.scale, 0.05) ** 2 / 3];
      else throw new Error(`unknown bias initializer ${name}`);
    }
  } else if (kw.bias !== undefined) {
    biasMean = num(kw.bias);
  }
  for (const m of block.matchAll(/net\[-1\]\.b\.array \+= (.+)$/gm)) biasMean += evalPy(m[1]);
  return { inChannels, out, kernel, stride, pad, ...w, biasMean, biasVariance };
}

function chainerActivationOk(code: string, c: RunConfig, v1: boolean): void {
  const body = stripComments(code.match(/def act\(x\):\n([\s\S]*?)\n\n/)![1]).trim();
  expect(code).toMatch(/for link in self:\n\s+x = act\(link\(x\)\)/);
  const expected: Record<RunConfig['act'], RegExp> = {
    linear: /^return x$/,
    relu: /^return F\.relu\(x\)$/,
    leaky_relu: /^return F\.leaky_relu\(x, slope=(.+)\)$/,
    elu: /^return F\.elu\(x, alpha=1\.0\)$/,
    selu: v1 ? /^return (\S+) \* F\.elu\(x, alpha=(\S+)\)$/ : /^return F\.selu\(x\)$/,
    tanh: /^return F\.tanh\(x\)$/,
    sigmoid: /^return F\.sigmoid\(x\)$/,
    softplus: /^return F\.softplus\(x\)$/,
    gelu: v1 ? /^return 0\.5 \* x \* \(1 \+ F\.tanh\(/ : /^return 0\.5 \* x \* \(1 \+ F\.erf\(x \/ math\.sqrt\(2\)\)\)$/,
    swish: /^return x \* F\.sigmoid\(x\)$/,
  };
  const hit = body.match(expected[c.act]);
  expect(hit, `${body} is ${c.act}`).not.toBeNull();
  if (c.act === 'leaky_relu') expect(evalPy(hit![1])).toBe(c.slope);
  if (c.act === 'selu' && v1) {
    // Klambauer et al. 2017: lambda = 1.0507009873554804934..., alpha = 1.6732632423543772848...
    expect(evalPy(hit![1])).toBeCloseTo(1.0507009873554805, 15);
    expect(evalPy(hit![2])).toBeCloseTo(1.6732632423543772, 15);
  }
}

// ----------------------------------------------------------------------------------------------

/** A snippet with wrapped comment lines joined, to search the text of its comments. */
const joined = (code: string) => code.replace(/\n#\s+/g, ' ');

/** The layer blocks of a snippet, comments removed. */
function blocks(code: string): string[] {
  const body = code.split('# end of layers')[0];
  const parts = body.split(/^# layer \d+:.*$/m);
  return parts.slice(1).map(stripComments);
}

function parseSnippet(code: string, c: RunConfig, framework: Framework): ParsedLayer[] {
  let prev = c.input[0];
  const rule = releaseRule(code);
  if (framework === 'keras') {
    const input = one(stripComments(code), 'keras.Input').keyword.shape;
    const dims = input.replace(/[()]/g, '').split(',').filter((s) => s.trim() !== '').map(Number);
    expect(dims).toEqual(c.net === 'mlp' ? [c.input[0]] : [c.input[1], c.input[2], c.input[0]]);
  }
  return blocks(code).map((block) => {
    const parsed =
      framework === 'pytorch'
        ? parseTorch(block, prev)
        : framework === 'keras'
          ? parseKeras(block, prev, c)
          : parseChainer(block, prev, framework === 'chainer1', rule);
    if (framework === 'pytorch') torchActivationOk(block, c);
    prev = parsed.out;
    return parsed;
  });
}

const close = (a: number, b: number, what: string) => {
  if (b === 0) expect(a, what).toBe(0);
  else expect(Math.abs(a - b) / Math.abs(b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-9);
};

/** Checks a snippet against the engine, layer by layer; returns the layers whose distribution family differs. */
function check(c: RunConfig, framework: Framework, snippet: Snippet): number[] {
  const shapes = layerShapes(c);
  const parsed = parseSnippet(snippet.code, c, framework);
  expect(parsed.length).toBe(shapes.length);
  const familyDiffers: number[] = [];
  shapes.forEach((shape, i) => {
    const p = parsed[i];
    const rule = weightRule(c, shape);
    const where = `${framework} layer ${shape.index}`;
    expect(p.out, where).toBe(shape.outShape[0]);
    expect(p.inChannels, where).toBe(shape.inShape[0]);
    if (c.net === 'cnn') {
      expect([p.kernel, p.stride, p.pad], where).toEqual([c.kernel, c.stride, c.pad]);
    }
    close(p.std, rule.std, `${where} weight std`);
    const moments = biasMoments(c, shape);
    close(p.biasMean, moments.mean, `${where} bias mean`);
    close(p.biasVariance, moments.variance, `${where} bias variance`);
    if (p.family !== rule.draw && !(p.family === 'zeros' && rule.std === 0)) familyDiffers.push(shape.index);
  });
  if (framework === 'chainer1' || framework === 'chainer7') chainerActivationOk(snippet.code, c, framework === 'chainer1');
  // The header and every block name the layer sizes.
  for (const s of shapes) expect(snippet.code).toContain(`# layer ${s.index}: `);
  return familyDiffers;
}

function config(over: Partial<RunConfig>): RunConfig {
  const { config: c, problems } = validateRun({ n: 16, ...over });
  expect(problems).toEqual([]);
  return c;
}

const SQRT2 = Math.SQRT2;
const CASES: [string, Partial<RunConfig>][] = [
  ['he_normal mlp, varying widths', { net: 'mlp', input: [784], widths: [300, 200, 100, 50], init: 'he_normal' }],
  ['he_normal fan_out scale 0.5, leaky 0.2', { net: 'mlp', input: [100], widths: [400, 50, 10], init: 'he_normal', fan: 'out', scale: 0.5, act: 'leaky_relu', slope: 0.2 }],
  ['he_normal truncated, elu, bias 0.1', { net: 'mlp', input: [256], widths: [512, 128], init: 'he_normal', dist: 'truncated', act: 'elu', bias: 0.1 }],
  ['he_normal cnn fan_out', { net: 'cnn', input: [3, 32, 32], widths: [16, 32, 8], kernel: 3, stride: 1, pad: 1, init: 'he_normal', fan: 'out' }],
  ['he_uniform cnn fan_out, stride 2 pad 2, normal biases', { net: 'cnn', input: [3, 32, 32], widths: [8, 24], kernel: 5, stride: 2, pad: 2, init: 'he_uniform', fan: 'out', biasStd: 0.05 }],
  ['he_uniform scale 1.7, softplus', { net: 'mlp', input: [64], widths: [128, 32], init: 'he_uniform', scale: 1.7, act: 'softplus' }],
  ['lecun_normal, selu', { net: 'mlp', input: [300], widths: [300, 100], init: 'lecun_normal', act: 'selu' }],
  ['lecun_normal cnn fan_out truncated, tanh', { net: 'cnn', input: [4, 16, 16], widths: [12, 6], kernel: 3, pad: 0, init: 'lecun_normal', fan: 'out', dist: 'truncated', act: 'tanh' }],
  ['lecun_uniform fan_out scale 2', { net: 'mlp', input: [50], widths: [70, 20], init: 'lecun_uniform', fan: 'out', scale: 2, act: 'tanh' }],
  ['lecun_uniform cnn, linear', { net: 'cnn', input: [3, 16, 16], widths: [10, 20], kernel: 3, pad: 1, init: 'lecun_uniform', act: 'linear' }],
  ['glorot_normal cnn, sigmoid, torch biases', { net: 'cnn', input: [3, 32, 32], widths: [16, 16], kernel: 3, pad: 1, init: 'glorot_normal', act: 'sigmoid', biasInit: 'torch' }],
  ['glorot_normal truncated scale 1.3', { net: 'mlp', input: [128], widths: [64, 256], init: 'glorot_normal', dist: 'truncated', scale: 1.3 }],
  ['glorot_uniform cnn pad 0, gelu', { net: 'cnn', input: [2, 12, 12], widths: [5, 7], kernel: 3, stride: 1, pad: 0, init: 'glorot_uniform', act: 'gelu' }],
  ['glorot_uniform scale 0.8, swish', { net: 'mlp', input: [512], widths: [256], init: 'glorot_uniform', scale: 0.8, act: 'swish' }],
  ['normal truncated', { net: 'mlp', input: [32], widths: [32, 64], init: 'normal', scale: 0.05, dist: 'truncated' }],
  ['normal cnn, bias 0.5 + N(0, 0.1^2)', { net: 'cnn', input: [3, 8, 8], widths: [4, 4], kernel: 3, pad: 1, init: 'normal', scale: 0.02, bias: 0.5, biasStd: 0.1 }],
  ['uniform, leaky -0.5', { net: 'mlp', input: [100], widths: [100, 20], init: 'uniform', scale: 0.05, act: 'leaky_relu', slope: -0.5 }],
  ['orthogonal mlp, widths growing and shrinking', { net: 'mlp', input: [64], widths: [128, 256, 64], init: 'orthogonal', scale: 1.1 }],
  ['orthogonal cnn, more outputs than fan_in', { net: 'cnn', input: [3, 8, 8], widths: [64, 8], kernel: 3, pad: 1, init: 'orthogonal', scale: 1 }],
  ['wscale sqrt(2), v1.8 rule', { net: 'mlp', input: [1000], widths: [1000, 500], init: 'wscale', scale: SQRT2, chainer: '1.8' }],
  ['wscale sqrt(2), v1.9 rule', { net: 'mlp', input: [100], widths: [100, 100], init: 'wscale', scale: SQRT2, chainer: '1.9' }],
  ['wscale 2 cnn, v1.9 rule, bias 0.2', { net: 'cnn', input: [3, 32, 32], widths: [96, 32], kernel: 5, stride: 1, pad: 2, init: 'wscale', scale: 2, chainer: '1.9', bias: 0.2 }],
  ['wscale 0.5, v1.8 rule, tanh', { net: 'mlp', input: [200], widths: [300], init: 'wscale', scale: 0.5, chainer: '1.8', act: 'tanh' }],
  ['torch_default with its bias', { net: 'mlp', input: [784], widths: [256, 10], init: 'torch_default', biasInit: 'torch' }],
  ['torch_default cnn scale 2, constant bias', { net: 'cnn', input: [3, 16, 16], widths: [8, 8], kernel: 3, stride: 2, pad: 1, init: 'torch_default', scale: 2, bias: -0.25 }],
  ['he_normal scale 0', { net: 'mlp', input: [64], widths: [32], init: 'he_normal', scale: 0 }],
];

/** Where the test expects a snippet not to be exact: truncated normal in Chainer; exact GELU in Chainer v1. */
function expectedInexact(c: RunConfig, framework: Framework): boolean {
  const truncated = c.dist === 'truncated' && ['he_normal', 'lecun_normal', 'glorot_normal', 'normal'].includes(c.init);
  if ((framework === 'chainer1' || framework === 'chainer7') && truncated) return true;
  return framework === 'chainer1' && c.act === 'gelu';
}

describe('codeSnippet: every layer read back has the std the engine prescribes', () => {
  it('the truncated-normal constant of REFERENCE.md is the std of N(0,1) cut at +-2', () => {
    expect(Math.abs(truncatedUnitStd(2) - 0.87962566103423978)).toBeLessThan(1e-13);
  });

  it('the expression reader evaluates what the snippets print', () => {
    expect(evalPy('math.sqrt(2)')).toBe(Math.SQRT2);
    expect(evalPy('0.5 * math.sqrt(6.0 / 4608)')).toBe(0.5 * Math.sqrt(6 / 4608));
    expect(evalPy('-1.0 / math.sqrt(512)')).toBe(-1 / Math.sqrt(512));
    expect(evalPy('2 ** 3 * 1e-2')).toBeCloseTo(0.08, 15);
    for (const x of [0.1, 1 / 3, Math.SQRT2, 1e-7, 123456.789, 2, -0.25]) expect(evalPy(pyFloat(x))).toBe(x);
  });

  for (const [name, over] of CASES) {
    for (const framework of FRAMEWORKS) {
      it(`${name}: ${framework}`, () => {
        const c = config(over);
        const snippet = codeSnippet(c, framework);
        const differs = check(c, framework, snippet);
        // A layer whose distribution family differs (truncated drawn as plain normal) makes the snippet inexact.
        if (differs.length) expect(snippet.exact).toBe(false);
        expect(snippet.exact).toBe(!expectedInexact(c, framework));
        if (!snippet.exact) {
          expect(snippet.notes.length).toBeGreaterThan(0);
          expect(snippet.code).toContain('Exact: NO');
        } else expect(snippet.code).toContain('Exact: yes');
        for (const n of snippet.notes) expect(joined(snippet.code)).toContain(n);
      });
    }
  }

  it('the default configuration (30 layers of 512) in every framework', () => {
    const c = defaultRun();
    for (const framework of FRAMEWORKS) {
      const snippet = codeSnippet(c, framework);
      expect(check(c, framework, snippet)).toEqual([]);
      expect(snippet.exact).toBe(true);
    }
  });
});

describe('codeSnippet: what each framework says', () => {
  it('Chainer v1 wscale names the release rule and the std of both rules per layer', () => {
    const c18 = config({ net: 'mlp', input: [100], widths: [100], init: 'wscale', scale: SQRT2, chainer: '1.8' });
    const c19 = { ...c18, chainer: '1.9' as const };
    const s18 = codeSnippet(c18, 'chainer1').code;
    const s19 = codeSnippet(c19, 'chainer1').code;
    expect(s18).toContain('wscale=math.sqrt(2)');
    expect(s18).toMatch(/Release rule: Chainer v1\.0\.0-v1\.8\.2/);
    expect(s19).toMatch(/Release rule: Chainer v1\.9\.0-v1\.24\.0/);
    // The measured stds of REFERENCE.md for Linear(100, 100, wscale=sqrt(2)): 0.1414 (v1.8.2) and 0.1189 (v1.17.0).
    expect(joined(s18)).toContain(`= ${SQRT2 / 10} on v1.8.2`);
    expect(joined(s19)).toContain(`= ${Math.sqrt(SQRT2) / 10} on v1.9.0-v1.24.0`);
    expect(releaseRule(s18)).toBe('1.8');
    expect(releaseRule(s19)).toBe('1.9');
    // v1.8.2 has no chainer.initializers: a wscale-only snippet must not import it.
    expect(s18).not.toContain('initializers');
  });

  it('Chainer v7 has no wscale: LeCunNormal with the std the rule gave, and says so', () => {
    const c = config({ net: 'mlp', input: [100], widths: [100], init: 'wscale', scale: 2, chainer: '1.9' });
    const s = codeSnippet(c, 'chainer7');
    expect(s.code).toContain('I.LeCunNormal(scale=math.sqrt(2.0))');
    expect(stripComments(s.code)).not.toContain('wscale=');
    expect(s.notes.join(' ')).toMatch(/removed in Chainer v2/);
    expect(s.exact).toBe(true);
  });

  it('Chainer v1 writes LeCun normal as HeNormal(scale/sqrt(2)) and Glorot on conv with v2 fans', () => {
    const lecun = codeSnippet(config({ init: 'lecun_normal', depth: 2, width: 64 }), 'chainer1');
    expect(lecun.code).toContain('I.HeNormal(scale=1.0 / math.sqrt(2))');
    expect(lecun.notes.join(' ')).toMatch(/LeCunNormal exists only from Chainer v3/);
    const glorot = codeSnippet(config({ net: 'cnn', init: 'glorot_normal', depth: 2 }), 'chainer1');
    expect(glorot.code).not.toContain('GlorotNormal');
    expect(glorot.notes.join(' ')).toMatch(/fan_out of a conv weight is out channels only/);
  });

  it('PyTorch: truncated normal takes the pre-truncation std, bounds at +-2 of it; torch default is left alone', () => {
    const t = codeSnippet(config({ net: 'mlp', input: [512], widths: [512], init: 'he_normal', dist: 'truncated' }), 'pytorch').code;
    const call = one(stripComments(t), 'nn.init.trunc_normal_');
    const sigma = Math.sqrt(2 / 512) / 0.87962566103423978;
    close(num(call.keyword.std), sigma, 'pre-truncation std');
    close(num(call.keyword.b), 2 * sigma, 'upper bound');
    const d = codeSnippet(config({ init: 'torch_default', biasInit: 'torch', depth: 2, width: 64 }), 'pytorch').code;
    expect(stripComments(d)).not.toContain('nn.init.');
  });

  it('Keras: named initializers where they match, untruncated_normal for plain normal, ZeroPadding2D where same cannot pad', () => {
    const named = codeSnippet(config({ init: 'he_normal', dist: 'truncated', depth: 2, width: 64 }), 'keras').code;
    expect(named).toContain('kernel_initializer=initializers.HeNormal()');
    const plain = codeSnippet(config({ init: 'he_normal', depth: 2, width: 64 }), 'keras').code;
    expect(plain).toContain("distribution='untruncated_normal'");
    const same = codeSnippet(config({ net: 'cnn', kernel: 3, stride: 1, pad: 1, depth: 2 }), 'keras');
    expect(same.code).toContain("padding='same'");
    expect(same.code).not.toContain('ZeroPadding2D');
    const zero = codeSnippet(config({ net: 'cnn', kernel: 3, stride: 2, pad: 1, depth: 2 }), 'keras');
    expect(zero.code).toContain('ZeroPadding2D(padding=1)');
    expect(zero.notes.join(' ')).toMatch(/padding='same' cannot express/);
    expect(zero.exact).toBe(true);
  });
});

describe('the read-back check can fail', () => {
  const c = config({ net: 'mlp', input: [300], widths: [100, 50], init: 'he_normal' });
  const breaks = (framework: Framework, from: string | RegExp, to: string, target = c) => {
    const snippet = codeSnippet(target, framework);
    const code = snippet.code.replace(from, to);
    expect(code).not.toBe(snippet.code);
    expect(() => {
      const differs = check(target, framework, { ...snippet, code });
      if (differs.length) throw new Error(`family differs on ${differs}`);
    }).toThrow();
  };

  it('a wrong fan mode (PyTorch)', () => breaks('pytorch', "mode='fan_in'", "mode='fan_out'"));
  it('a wrong nonlinearity (PyTorch)', () => breaks('pytorch', "nonlinearity='relu'", "nonlinearity='linear'"));
  it('a wrong variance scale (Keras)', () => breaks('keras', 'scale=2.0', 'scale=1.0'));
  it('truncated instead of plain normal (Keras)', () => breaks('keras', "'untruncated_normal'", "'truncated_normal'"));
  it('the other wscale release rule (Chainer v1)', () => {
    const w = config({ net: 'mlp', input: [100], widths: [100], init: 'wscale', scale: SQRT2, chainer: '1.9' });
    breaks('chainer1', 'Release rule: Chainer v1.9.0-v1.24.0', 'Release rule: Chainer v1.0.0-v1.8.2', w);
  });
  it('a wrong layer size (Chainer v7)', () => breaks('chainer7', 'L.Linear(300, 100', 'L.Linear(300, 101'));
  it('a wrong bias (PyTorch)', () => breaks('pytorch', 'nn.init.zeros_(layer.bias)', 'nn.init.constant_(layer.bias, 0.1)'));
});
