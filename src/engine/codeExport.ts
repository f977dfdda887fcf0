/**
 * Code export: a runnable Python snippet that builds the configured network with the same weight
 * and bias distributions in Chainer v1, Chainer v7, PyTorch or Keras (facts in shared/REFERENCE.md).
 *
 * Every layer gets its own block, headed `# layer N: ...`, with its sizes, its fans and the std
 * initscope prescribes, so a reader can check each layer and a test can read each one back.
 * Numbers are printed as Python literals that round-trip exactly (JavaScript's shortest repr is
 * Python's) or as exact expressions such as `math.sqrt(6.0 / 4608)`; divisions always have a
 * float operand so that the Chainer v1 snippet means the same under Python 2.
 */
import { layerShapes, type LayerShape, type RunConfig } from './schema';
import { TRUNCATED_STD, weightRule, type WeightRule } from './initializers';
import { SELU_ALPHA, SELU_LAMBDA } from './activations';

/** Target frameworks: Chainer v1 (wscale era), Chainer v7, PyTorch (torch.nn.init), Keras 3. */
export type Framework = 'chainer1' | 'chainer7' | 'pytorch' | 'keras';

/** Every framework, in the order the app lists them. */
export const FRAMEWORKS: readonly Framework[] = ['chainer1', 'chainer7', 'pytorch', 'keras'];

/** Human names of the frameworks. */
export const FRAMEWORK_LABELS: Record<Framework, string> = {
  chainer1: 'Chainer v1',
  chainer7: 'Chainer v7',
  pytorch: 'PyTorch',
  keras: 'Keras 3',
};

/** A snippet: Python source, whether it reproduces every layer's distributions exactly, and why not. */
export interface Snippet {
  code: string;
  /** True when every weight and bias has the distribution initscope draws and the activation is the same function. */
  exact: boolean;
  /** What the snippet could not express, or had to express differently; also printed in its header. */
  notes: string[];
}

/** One weight layer with what the snippet needs: sizes, fans and the engine's rule. */
interface Layer extends LayerShape {
  inChannels: number;
  out: number;
  rule: WeightRule;
}

/** A growing snippet: lines, notes, and whether it is still exact. */
interface Draft {
  lines: string[];
  notes: string[];
  exact: boolean;
}

/** A note, deduplicated; `inexact` marks the snippet as not exact. */
function note(d: Draft, text: string, inexact = false): void {
  if (!d.notes.includes(text)) d.notes.push(text);
  if (inexact) d.exact = false;
}

/** A Python float literal that parses back to exactly `x` (sqrt(2) is written `math.sqrt(2)`). */
export function pyFloat(x: number): string {
  if (x === Math.SQRT2) return 'math.sqrt(2)';
  if (Object.is(x, -0)) return '0.0';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  return String(x);
}

/** A number in a comment or note: `sqrt(2)` for sqrt(2), otherwise JavaScript's shortest form. */
function prose(x: number): string {
  return x === Math.SQRT2 ? 'sqrt(2)' : String(x);
}

/** `k * s ** 2` as a Python expression (`k` alone when s = 1). */
function timesSquare(k: number, s: number, over = ''): string {
  if (s === 1) return `${pyFloat(k)}${over}`;
  return `${k === 1 ? '' : `${pyFloat(k)} * `}${pyFloat(s)} ** 2${over}`;
}

/** `expr` multiplied by `s`, or `expr` alone when s = 1. */
function times(s: number, expr: string): string {
  return s === 1 ? expr : `${pyFloat(s)} * ${expr}`;
}

/** `math.sqrt(num / den)` with a float numerator. */
function sqrtOf(num: number, den: number | string): string {
  return `math.sqrt(${pyFloat(num)} / ${den})`;
}

/** Wraps a comment to about 100 columns. */
function comment(text: string, indent = ''): string[] {
  const words = text.split(' ');
  const out: string[] = [];
  let line = `${indent}#`;
  for (const w of words) {
    if (line.length + w.length + 1 > 100 && line !== `${indent}#`) {
      out.push(line);
      line = `${indent}#  `;
    }
    line += ` ${w}`;
  }
  out.push(line);
  return out;
}

function layersOf(c: RunConfig): Layer[] {
  return layerShapes(c).map((s) => ({ ...s, inChannels: s.inShape[0], out: s.outShape[0], rule: weightRule(c, s) }));
}

const ACTIVATION_NAMES: Record<RunConfig['act'], string> = {
  linear: 'linear (identity)',
  relu: 'relu',
  leaky_relu: 'leaky_relu',
  elu: 'elu (alpha 1)',
  selu: 'selu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  softplus: 'softplus',
  gelu: 'gelu (exact, erf)',
  swish: 'swish (silu)',
};

function describeNetwork(c: RunConfig, layers: Layer[]): string {
  const act = c.act === 'leaky_relu' ? `leaky_relu (slope ${c.slope})` : ACTIVATION_NAMES[c.act];
  const widths = layers.map((l) => l.out).join(', ');
  if (c.net === 'mlp') return `MLP, input ${c.input[0]}, ${layers.length} dense layers (${widths}), ${act} after every layer.`;
  return (
    `CNN, input ${c.input.join('x')} (channels x height x width), ${layers.length} conv layers of (${widths}) channels, ` +
    `kernel ${c.kernel}, stride ${c.stride}, pad ${c.pad}, ${act} after every layer.`
  );
}

function describeInit(c: RunConfig): string {
  const parts = [`${c.init}`, `scale ${prose(c.scale)}`];
  if (c.init.startsWith('he_') || c.init.startsWith('lecun_')) parts.push(c.fan === 'out' ? 'fan_out' : 'fan_in');
  if (['he_normal', 'lecun_normal', 'glorot_normal', 'normal'].includes(c.init)) parts.push(c.dist === 'truncated' ? 'truncated at 2 std' : 'plain normal');
  if (c.init === 'wscale') parts.push(c.chainer === '1.8' ? 'Chainer <= v1.8.2 rule' : 'Chainer v1.9.0-v1.24.0 rule');
  return parts.join(', ');
}

function describeBias(c: RunConfig): string {
  if (c.biasInit === 'torch') return "PyTorch's default U[-1/sqrt(fan_in), 1/sqrt(fan_in)]";
  if (c.biasStd === 0) return `constant ${c.bias}`;
  return `${c.bias} + N(0, ${c.biasStd}^2)`;
}

function layerHeader(c: RunConfig, l: Layer, name: string): string[] {
  const size =
    l.kind === 'dense'
      ? `${name} ${l.fanIn} -> ${l.out}`
      : `${name} ${l.inChannels} -> ${l.out} channels, ${c.kernel}x${c.kernel}, output ${l.outShape.join('x')}`;
  return comment(`layer ${l.index}: ${size}; fan_in ${l.fanIn}, fan_out ${l.fanOut}; initscope: ${l.rule.formula}`);
}

/** Input data of the configured distribution (all with E[x^2] = 1), as numpy. */
function numpyData(c: RunConfig, shape: number[], np: string): string {
  const s = `(${shape.join(', ')})`;
  if (c.data === 'uniform') return `${np}.random.uniform(-math.sqrt(3), math.sqrt(3), ${s}).astype(${np}.float32)  # unit variance`;
  if (c.data === 'positive') return `${np}.abs(${np}.random.standard_normal(${s})).astype(${np}.float32)  # |N(0, 1)|`;
  return `${np}.random.standard_normal(${s}).astype(${np}.float32)  # N(0, 1)`;
}

// ---------------------------------------------------------------------------------------------
// PyTorch

function torchActivation(c: RunConfig): string {
  switch (c.act) {
    case 'linear':
      return 'nn.Identity()';
    case 'relu':
      return 'nn.ReLU()';
    case 'leaky_relu':
      return `nn.LeakyReLU(negative_slope=${pyFloat(c.slope)})`;
    case 'elu':
      return 'nn.ELU(alpha=1.0)';
    case 'selu':
      return 'nn.SELU()';
    case 'tanh':
      return 'nn.Tanh()';
    case 'sigmoid':
      return 'nn.Sigmoid()';
    case 'softplus':
      return 'nn.Softplus()';
    case 'gelu':
      return "nn.GELU(approximate='none')";
    case 'swish':
      return 'nn.SiLU()';
  }
}

function torchWeight(c: RunConfig, l: Layer, d: Draft): string[] {
  const w = 'layer.weight';
  const s = c.scale;
  const mode = c.fan === 'out' ? 'fan_out' : 'fan_in';
  const scaled = (line: string, factor: string | null): string[] => (factor === null ? [line] : [line, `${w}.data.mul_(${factor})`]);
  const byScale = s === 1 ? null : pyFloat(s);
  const truncated = (): string[] => {
    const sigma = l.rule.std / TRUNCATED_STD;
    // trunc_normal_ divides by its std: a zero scale is the zero tensor.
    if (sigma === 0) return [`nn.init.zeros_(${w})`];
    return [
      ...comment(`trunc_normal_ takes the std before truncation: ${l.rule.std} / 0.87962566103423978, cut at +-2 of it`),
      `nn.init.trunc_normal_(${w}, mean=0.0, std=${pyFloat(sigma)}, a=${pyFloat(-2 * sigma)}, b=${pyFloat(2 * sigma)})`,
    ];
  };
  if (l.rule.draw === 'truncated') return truncated();
  switch (c.init) {
    case 'he_normal':
      return scaled(`nn.init.kaiming_normal_(${w}, mode='${mode}', nonlinearity='relu')`, byScale);
    case 'he_uniform':
      return scaled(`nn.init.kaiming_uniform_(${w}, mode='${mode}', nonlinearity='relu')`, byScale);
    case 'lecun_normal':
      return scaled(`nn.init.kaiming_normal_(${w}, mode='${mode}', nonlinearity='linear')`, byScale);
    case 'lecun_uniform':
      return scaled(`nn.init.kaiming_uniform_(${w}, mode='${mode}', nonlinearity='linear')`, byScale);
    case 'glorot_normal':
      return [`nn.init.xavier_normal_(${w}, gain=${pyFloat(s)})`];
    case 'glorot_uniform':
      return [`nn.init.xavier_uniform_(${w}, gain=${pyFloat(s)})`];
    case 'normal':
      return [`nn.init.normal_(${w}, mean=0.0, std=${pyFloat(s)})`];
    case 'uniform':
      return [`nn.init.uniform_(${w}, a=-${pyFloat(s)}, b=${pyFloat(s)})`];
    case 'orthogonal':
      return [`nn.init.orthogonal_(${w}, gain=${pyFloat(s)})`];
    case 'wscale': {
      note(d, `PyTorch has no wscale: each layer draws N(0, std^2) with the std Chainer's wscale=${prose(c.scale)} gave under the ${c.chainer === '1.8' ? 'v1.8.2-and-earlier' : 'v1.9.0-v1.24.0'} rule (LeCun normal times ${c.chainer === '1.8' ? 'wscale' : 'sqrt(wscale)'}).`);
      const factor = s === 1 ? null : c.chainer === '1.8' ? pyFloat(s) : `math.sqrt(${pyFloat(s)})`;
      return scaled(`nn.init.kaiming_normal_(${w}, mode='fan_in', nonlinearity='linear')`, factor);
    }
    case 'torch_default': {
      const lines = comment(`weight: nn.${l.kind === 'dense' ? 'Linear' : 'Conv2d'}'s default, kaiming_uniform_(a=math.sqrt(5)) = U[-1/sqrt(${l.fanIn}), 1/sqrt(${l.fanIn})]`);
      return byScale === null ? lines : [...lines, `${w}.data.mul_(${byScale})`];
    }
  }
}

function torchBias(c: RunConfig, l: Layer): string[] {
  const b = 'layer.bias';
  if (c.biasInit === 'torch') return comment(`bias: the default U[-1/sqrt(fan_in), 1/sqrt(fan_in)] = U[-1/sqrt(${l.fanIn}), 1/sqrt(${l.fanIn})]`);
  if (c.biasStd > 0) return [`nn.init.normal_(${b}, mean=${pyFloat(c.bias)}, std=${pyFloat(c.biasStd)})`];
  if (c.bias === 0) return [`nn.init.zeros_(${b})`];
  return [`nn.init.constant_(${b}, ${pyFloat(c.bias)})`];
}

function pytorch(c: RunConfig, layers: Layer[], d: Draft): void {
  const L = d.lines;
  L.push('import math', '', 'import torch', 'from torch import nn', '', 'torch.manual_seed(0)', 'layers = []');
  for (const l of layers) {
    L.push('', ...layerHeader(c, l, l.kind === 'dense' ? 'Linear' : 'Conv2d'));
    L.push(
      l.kind === 'dense'
        ? `layer = nn.Linear(${l.fanIn}, ${l.out})`
        : `layer = nn.Conv2d(${l.inChannels}, ${l.out}, kernel_size=${c.kernel}, stride=${c.stride}, padding=${c.pad})`,
    );
    L.push(...torchWeight(c, l, d), ...torchBias(c, l), `layers += [layer, ${torchActivation(c)}]`);
  }
  const shape = [c.n, ...c.input];
  const data =
    c.data === 'uniform'
      ? `x = (torch.rand(${shape.join(', ')}) * 2 - 1) * math.sqrt(3)  # unit variance`
      : c.data === 'positive'
        ? `x = torch.randn(${shape.join(', ')}).abs()  # |N(0, 1)|`
        : `x = torch.randn(${shape.join(', ')})  # N(0, 1)`;
  L.push('# end of layers', '', 'model = nn.Sequential(*layers)', '', data, 'with torch.no_grad():', '    y = model(x)', "print('output std', y.std().item())");
}

// ---------------------------------------------------------------------------------------------
// Keras

/** VarianceScaling with `scale` written as the Python expression `text`, or Zeros when the scale is 0 (Keras refuses scale <= 0). */
function varianceScaling(scale: number, text: string, mode: string, distribution: string): string {
  if (scale === 0) return 'initializers.Zeros()';
  return `initializers.VarianceScaling(scale=${text}, mode='${mode}', distribution='${distribution}')`;
}

function kerasKernel(c: RunConfig, l: Layer, d: Draft): string {
  const s = c.scale;
  const mode = c.fan === 'out' ? 'fan_out' : 'fan_in';
  const normal = l.rule.draw === 'truncated' ? 'truncated_normal' : 'untruncated_normal';
  const named = s === 1 && (c.fan === 'in' || !(c.init.startsWith('he_') || c.init.startsWith('lecun_')));
  switch (c.init) {
    case 'he_normal':
      if (named && normal === 'truncated_normal') return 'initializers.HeNormal()';
      return varianceScaling(s, timesSquare(2, s), mode, normal);
    case 'he_uniform':
      if (named) return 'initializers.HeUniform()';
      return varianceScaling(s, timesSquare(2, s), mode, 'uniform');
    case 'lecun_normal':
      if (named && normal === 'truncated_normal') return 'initializers.LecunNormal()';
      return varianceScaling(s, timesSquare(1, s), mode, normal);
    case 'lecun_uniform':
      return varianceScaling(s, timesSquare(1, s), mode, 'uniform');
    case 'glorot_normal':
      if (named && normal === 'truncated_normal') return 'initializers.GlorotNormal()';
      return varianceScaling(s, timesSquare(1, s), 'fan_avg', normal);
    case 'glorot_uniform':
      if (named) return 'initializers.GlorotUniform()';
      return varianceScaling(s, timesSquare(1, s), 'fan_avg', 'uniform');
    case 'normal':
      if (normal === 'truncated_normal') return `initializers.TruncatedNormal(mean=0.0, stddev=${pyFloat(s)} / ${TRUNCATED_STD})`;
      return `initializers.RandomNormal(mean=0.0, stddev=${pyFloat(s)})`;
    case 'uniform':
      return `initializers.RandomUniform(minval=-${pyFloat(s)}, maxval=${pyFloat(s)})`;
    case 'orthogonal':
      return `initializers.Orthogonal(gain=${pyFloat(s)})`;
    case 'wscale':
      note(d, `Keras has no wscale: VarianceScaling(scale=${c.chainer === '1.8' ? 'wscale^2' : 'wscale'}, mode='fan_in', distribution='untruncated_normal') gives the std Chainer's wscale=${prose(c.scale)} gave under the ${c.chainer === '1.8' ? 'v1.8.2-and-earlier' : 'v1.9.0-v1.24.0'} rule.`);
      return varianceScaling(s, c.chainer === '1.8' ? timesSquare(1, s) : pyFloat(s), 'fan_in', 'untruncated_normal');
    case 'torch_default':
      note(d, "PyTorch's default weight U[-1/sqrt(fan_in), 1/sqrt(fan_in)] is VarianceScaling(scale=1/3, mode='fan_in', distribution='uniform') in Keras.");
      return varianceScaling(s, timesSquare(1, s, ' / 3'), 'fan_in', 'uniform');
  }
}

function kerasBias(c: RunConfig, l: Layer): string {
  if (c.biasInit === 'torch') return `initializers.RandomUniform(minval=-1.0 / math.sqrt(${l.fanIn}), maxval=1.0 / math.sqrt(${l.fanIn}))`;
  if (c.biasStd > 0) return `initializers.RandomNormal(mean=${pyFloat(c.bias)}, stddev=${pyFloat(c.biasStd)})`;
  if (c.bias === 0) return 'initializers.Zeros()';
  return `initializers.Constant(${pyFloat(c.bias)})`;
}

const KERAS_ACTIVATIONS: Record<RunConfig['act'], string> = {
  linear: 'linear',
  relu: 'relu',
  leaky_relu: 'linear',
  elu: 'elu',
  selu: 'selu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  softplus: 'softplus',
  gelu: 'gelu',
  swish: 'swish',
};

function keras(c: RunConfig, layers: Layer[], d: Draft): void {
  const L = d.lines;
  L.push('import math', '', 'import numpy as np', 'import keras', 'from keras import initializers, layers', '');
  if (c.net === 'cnn') {
    L.push(
      ...comment(
        `Keras is channels_last: the input ${c.input.join('x')} (channels x height x width) is shape (${c.input[1]}, ${c.input[2]}, ${c.input[0]}); ` +
          'a kernel is (kh, kw, in, out) and its fan_in kh*kw*in and fan_out kh*kw*out are the ones above.',
      ),
    );
  }
  const inputShape = c.net === 'mlp' ? `(${c.input[0]},)` : `(${c.input[1]}, ${c.input[2]}, ${c.input[0]})`;
  L.push('model = keras.Sequential()', `model.add(keras.Input(shape=${inputShape}))`);
  const leaky = c.act === 'leaky_relu';
  if (leaky && c.slope < 0) note(d, `Keras's LeakyReLU refuses a negative slope: the activation is written max(x, 0) + ${c.slope} min(x, 0), the same function.`);
  if (leaky) L.push(...comment('Keras 3 spells the slope negative_slope; tf.keras 2 spells it alpha.'));
  let padding = 'valid';
  if (c.net === 'cnn' && c.pad > 0) {
    if (c.stride === 1 && 2 * c.pad === c.kernel - 1) padding = 'same';
    else {
      padding = 'zero';
      note(d, `Keras's padding='same' cannot express pad ${c.pad} with kernel ${c.kernel} and stride ${c.stride}: each conv is ZeroPadding2D(padding=${c.pad}) then padding='valid', which pads exactly as initscope.`);
    }
  }
  for (const l of layers) {
    L.push('', ...layerHeader(c, l, l.kind === 'dense' ? 'Dense' : 'Conv2D'));
    if (padding === 'zero') L.push(`model.add(layers.ZeroPadding2D(padding=${c.pad}))`);
    const head =
      l.kind === 'dense'
        ? `model.add(layers.Dense(\n    ${l.out},`
        : `model.add(layers.Conv2D(\n    ${l.out},\n    kernel_size=${c.kernel},\n    strides=${c.stride},\n    padding='${padding === 'same' ? 'same' : 'valid'}',`;
    L.push(head, `    activation='${KERAS_ACTIVATIONS[c.act]}',`, `    kernel_initializer=${kerasKernel(c, l, d)},`, `    bias_initializer=${kerasBias(c, l)},`, '))');
    if (leaky) {
      L.push(
        c.slope >= 0
          ? `model.add(layers.LeakyReLU(negative_slope=${pyFloat(c.slope)}))`
          : `model.add(layers.Activation(lambda x: keras.ops.maximum(x, 0.0) - ${pyFloat(-c.slope)} * keras.ops.minimum(x, 0.0)))`,
      );
    }
  }
  const shape = c.net === 'mlp' ? [c.n, c.input[0]] : [c.n, c.input[1], c.input[2], c.input[0]];
  L.push('# end of layers', '', `x = ${numpyData(c, shape, 'np')}`, 'y = model.predict(x, verbose=0)', "print('output std', float(y.std()))");
}

// ---------------------------------------------------------------------------------------------
// Chainer

function chainerActivation(c: RunConfig, v1: boolean, d: Draft): string[] {
  switch (c.act) {
    case 'linear':
      return ['return x'];
    case 'relu':
      return ['return F.relu(x)'];
    case 'leaky_relu':
      return [`return F.leaky_relu(x, slope=${pyFloat(c.slope)})`];
    case 'elu':
      return ['return F.elu(x, alpha=1.0)'];
    case 'selu':
      if (v1) return ['# SELU (F.selu came after v1): lambda * elu(x, alpha)', `return ${SELU_LAMBDA} * F.elu(x, alpha=${SELU_ALPHA})`];
      return ['return F.selu(x)'];
    case 'tanh':
      return ['return F.tanh(x)'];
    case 'sigmoid':
      return ['return F.sigmoid(x)'];
    case 'softplus':
      return ['return F.softplus(x)'];
    case 'gelu':
      if (v1) {
        note(d, "Chainer v1 has neither F.gelu nor F.erf: the activation is GELU's tanh approximation, not initscope's exact (erf) GELU.", true);
        return ['# tanh approximation of GELU: Chainer v1 has no erf', 'return 0.5 * x * (1 + F.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))'];
      }
      return ['# exact GELU: Chainer has no F.gelu', 'return 0.5 * x * (1 + F.erf(x / math.sqrt(2)))'];
    case 'swish':
      return ['return x * F.sigmoid(x)'];
  }
}

/** Chainer v7 `initialW`. */
function chainer7Weight(c: RunConfig, l: Layer, d: Draft): string {
  const s = c.scale;
  const ps = pyFloat(s);
  const fanOut = c.fan === 'out';
  switch (c.init) {
    case 'he_normal':
      return `I.HeNormal(scale=${ps}, fan_option='${fanOut ? 'fan_out' : 'fan_in'}')`;
    case 'he_uniform':
      if (!fanOut) return `I.HeUniform(scale=${ps})`;
      note(d, "Chainer's HeUniform has no fan_option: with fan_out each layer gets Uniform(scale=bound) with bound = scale*sqrt(6/fan_out).");
      return `I.Uniform(scale=${times(s, sqrtOf(6, l.fanOut))})`;
    case 'lecun_normal':
      if (!fanOut) return `I.LeCunNormal(scale=${ps})`;
      note(d, "Chainer's LeCunNormal has no fan_option: HeNormal(scale=scale/sqrt(2), fan_option='fan_out') is LeCun normal over fan_out.");
      return `I.HeNormal(scale=${ps} / math.sqrt(2), fan_option='fan_out')`;
    case 'lecun_uniform':
      if (!fanOut) return `I.LeCunUniform(scale=${ps})`;
      note(d, "Chainer's LeCunUniform has no fan_option: with fan_out each layer gets Uniform(scale=bound) with bound = scale*sqrt(3/fan_out).");
      return `I.Uniform(scale=${times(s, sqrtOf(3, l.fanOut))})`;
    case 'glorot_normal':
      return `I.GlorotNormal(scale=${ps})`;
    case 'glorot_uniform':
      return `I.GlorotUniform(scale=${ps})`;
    case 'normal':
      return `I.Normal(scale=${ps})`;
    case 'uniform':
      return `I.Uniform(scale=${ps})`;
    case 'orthogonal':
      return `I.Orthogonal(scale=${ps})`;
    case 'wscale':
      note(
        d,
        `wscale was removed in Chainer v2 (TypeError). Under the ${c.chainer === '1.8' ? 'v1.8.2-and-earlier' : 'v1.9.0-v1.24.0'} rule wscale=${prose(c.scale)} gave std ${c.chainer === '1.8' ? 'wscale' : 'sqrt(wscale)'}/sqrt(fan_in): the snippet uses LeCunNormal(scale=${c.chainer === '1.8' ? 'wscale' : 'sqrt(wscale)'}), the same distribution.`,
      );
      return `I.LeCunNormal(scale=${c.chainer === '1.8' ? ps : `math.sqrt(${ps})`})`;
    case 'torch_default':
      note(d, "PyTorch's default weight U[-1/sqrt(fan_in), 1/sqrt(fan_in)] is LeCunUniform(scale=1/sqrt(3)) in Chainer.");
      return `I.LeCunUniform(scale=${ps} / math.sqrt(3))`;
  }
}

/** Chainer v1 weight arguments: `wscale=...` or `initialW=...` (initializers as they existed in v1.9-v1.24). */
function chainer1Weight(c: RunConfig, l: Layer, d: Draft): string {
  const s = c.scale;
  const ps = pyFloat(s);
  const fanOut = c.fan === 'out';
  const fanOption = () =>
    note(d, 'fan_option exists only from Chainer v4: with fan_out each layer gets Normal/Uniform with the fan_out std or bound computed in the snippet.');
  const convGlorot = () =>
    note(d, "Chainer v1's fan_out of a conv weight is out channels only (out*kh*kw from v2.0.0b1): each conv layer gets Normal/Uniform with initscope's Glorot std or bound.");
  switch (c.init) {
    case 'wscale':
      return `wscale=${ps}`;
    case 'he_normal':
      if (!fanOut) return `initialW=I.HeNormal(scale=${ps})`;
      fanOption();
      return `initialW=I.Normal(scale=${times(s, sqrtOf(2, l.fanOut))})`;
    case 'he_uniform':
      if (!fanOut) return `initialW=I.HeUniform(scale=${ps})`;
      fanOption();
      return `initialW=I.Uniform(scale=${times(s, sqrtOf(6, l.fanOut))})`;
    case 'lecun_normal':
      if (!fanOut) {
        note(d, 'LeCunNormal exists only from Chainer v3: HeNormal(scale=s/sqrt(2)) is LeCun normal with scale s.');
        return `initialW=I.HeNormal(scale=${ps} / math.sqrt(2))`;
      }
      fanOption();
      return `initialW=I.Normal(scale=${times(s, sqrtOf(1, l.fanOut))})`;
    case 'lecun_uniform':
      if (!fanOut) return `initialW=I.LeCunUniform(scale=${ps})`;
      fanOption();
      return `initialW=I.Uniform(scale=${times(s, sqrtOf(3, l.fanOut))})`;
    case 'glorot_normal':
      if (l.kind === 'dense') return `initialW=I.GlorotNormal(scale=${ps})`;
      convGlorot();
      return `initialW=I.Normal(scale=${times(s, sqrtOf(2, `(${l.fanIn} + ${l.fanOut})`))})`;
    case 'glorot_uniform':
      if (l.kind === 'dense') return `initialW=I.GlorotUniform(scale=${ps})`;
      convGlorot();
      return `initialW=I.Uniform(scale=${times(s, sqrtOf(6, `(${l.fanIn} + ${l.fanOut})`))})`;
    case 'normal':
      return `initialW=I.Normal(scale=${ps})`;
    case 'uniform':
      return `initialW=I.Uniform(scale=${ps})`;
    case 'orthogonal': {
      if (l.out <= l.fanIn) return `initialW=I.Orthogonal(scale=${ps})`;
      note(d, "Chainer v1's Orthogonal refuses more outputs than inputs (ValueError; v7 allows it): such layers get orthonormal columns from the orthogonal() helper, times scale.");
      const shape = l.kind === 'dense' ? `(${l.out}, ${l.fanIn})` : `(${l.out}, ${l.inChannels}, ${c.kernel}, ${c.kernel})`;
      return `initialW=orthogonal(${shape}, scale=${ps})`;
    }
    case 'torch_default':
      note(d, "PyTorch's default weight U[-1/sqrt(fan_in), 1/sqrt(fan_in)] is LeCunUniform(scale=1/sqrt(3)) in Chainer.");
      return `initialW=I.LeCunUniform(scale=${ps} / math.sqrt(3))`;
  }
}

/** Chainer bias arguments, and a line after construction when a normal bias has a nonzero mean (v7). */
function chainerBias(c: RunConfig, l: Layer, v1: boolean): { arg: string; after: string[] } {
  if (v1) {
    if (c.biasInit === 'torch')
      return { arg: `initial_bias=numpy.random.uniform(-1.0 / math.sqrt(${l.fanIn}), 1.0 / math.sqrt(${l.fanIn}), ${l.out}).astype(numpy.float32)`, after: [] };
    if (c.biasStd > 0) return { arg: `initial_bias=numpy.random.normal(${pyFloat(c.bias)}, ${pyFloat(c.biasStd)}, ${l.out}).astype(numpy.float32)`, after: [] };
    return { arg: `bias=${pyFloat(c.bias)}`, after: [] };
  }
  if (c.biasInit === 'torch') return { arg: `initial_bias=I.Uniform(scale=1.0 / math.sqrt(${l.fanIn}))`, after: [] };
  if (c.biasStd > 0)
    return {
      arg: `initial_bias=I.Normal(scale=${pyFloat(c.biasStd)})`,
      after: c.bias === 0 ? [] : [`net[-1].b.array += ${pyFloat(c.bias)}  # I.Normal has mean 0`],
    };
  return { arg: c.bias === 0 ? 'initial_bias=I.Zero()' : `initial_bias=I.Constant(${pyFloat(c.bias)})`, after: [] };
}

function chainer(c: RunConfig, layers: Layer[], d: Draft, v1: boolean): void {
  const L = d.lines;
  const usesInitializers = !v1 || c.init !== 'wscale';
  if (v1) {
    if (c.init === 'wscale') {
      const rule18 = c.chainer === '1.8';
      L.push(
        ...comment(
          rule18
            ? 'Release rule: Chainer v1.0.0-v1.8.2, where wscale=w gives std = w/sqrt(fan_in). Run it on v1.5.0-v1.8.2 (the Link API used here arrived in v1.5.0): v1.9.0-v1.24.0 give sqrt(w)/sqrt(fan_in) for the same wscale (use wscale=w**2 there), and v2 removed wscale.'
            : 'Release rule: Chainer v1.9.0-v1.24.0, where wscale=w gives std = sqrt(w)/sqrt(fan_in). Run it on one of those releases: v1.8.2 and earlier give w/sqrt(fan_in) for the same wscale (use wscale=sqrt(w) there), and v2 removed wscale.',
        ),
      );
      note(
        d,
        rule18
          ? `The std depends on the Chainer release: wscale=${prose(c.scale)} gives wscale/sqrt(fan_in) on v1.8.2 and earlier (this configuration), sqrt(wscale)/sqrt(fan_in) on v1.9.0-v1.24.0.`
          : `The std depends on the Chainer release: wscale=${prose(c.scale)} gives sqrt(wscale)/sqrt(fan_in) on v1.9.0-v1.24.0 (this configuration), wscale/sqrt(fan_in) on v1.8.2 and earlier.`,
      );
    } else {
      L.push(...comment('Needs Chainer v1.9.0 or later (chainer.initializers). No wscale here, so neither wscale release rule applies.'));
    }
    L.push(...comment('Written for Python 2 and 3 alike, as Chainer v1 ran on both.'), 'from __future__ import division, print_function', '');
  }
  L.push('import math', '', 'import numpy', 'import chainer', 'import chainer.functions as F', 'import chainer.links as L');
  if (usesInitializers) L.push('from chainer import initializers as I');
  if (v1 && c.init === 'orthogonal' && layers.some((l) => l.out > l.fanIn)) {
    L.push(
      '',
      '',
      'def orthogonal(shape, scale):',
      '    # Orthonormal columns of a Gaussian matrix (QR, signs of R folded in), times scale:',
      "    # Chainer v1's Orthogonal refuses more rows (out) than columns (fan_in).",
      '    flat = (shape[0], int(numpy.prod(shape[1:])))',
      '    q, r = numpy.linalg.qr(numpy.random.normal(size=flat))',
      '    q *= numpy.sign(numpy.diag(r))',
      '    return (scale * q).reshape(shape).astype(numpy.float32)',
    );
  }
  L.push('', '', 'def act(x):', ...chainerActivation(c, v1, d).map((x) => `    ${x}`), '', '');
  L.push(
    'class Net(chainer.ChainList):',
    v1 ? '    def __call__(self, x):' : '    def forward(self, x):',
    '        for link in self:',
    '            x = act(link(x))',
    '        return x',
    '',
    '',
    'net = Net()',
  );
  for (const l of layers) {
    L.push('', ...layerHeader(c, l, l.kind === 'dense' ? 'Linear' : 'Convolution2D'));
    if (v1 && c.init === 'wscale') {
      const std18 = c.scale / Math.sqrt(l.fanIn);
      const std19 = Math.sqrt(c.scale) / Math.sqrt(l.fanIn);
      L.push(
        ...comment(
          `wscale=${prose(c.scale)}, fan_in ${l.fanIn}: std ${prose(c.scale)}/sqrt(${l.fanIn}) = ${std18} on v1.8.2 and earlier; sqrt(${prose(c.scale)})/sqrt(${l.fanIn}) = ${std19} on v1.9.0-v1.24.0`,
        ),
      );
    }
    const weight = v1 ? chainer1Weight(c, l, d) : `initialW=${chainer7Weight(c, l, d)}`;
    const bias = chainerBias(c, l, v1);
    const ctor =
      l.kind === 'dense'
        ? `L.Linear(${l.fanIn}, ${l.out}, ${weight}, ${bias.arg})`
        : `L.Convolution2D(${l.inChannels}, ${l.out}, ksize=${c.kernel}, stride=${c.stride}, pad=${c.pad}, ${weight}, ${bias.arg})`;
    L.push(`net.add_link(${ctor})`, ...bias.after);
  }
  L.push('# end of layers', '', `x = ${numpyData(c, [c.n, ...c.input], 'numpy')}`);
  if (v1) L.push('y = net(chainer.Variable(x))', "print('output std', float(y.data.std()))");
  else L.push('with chainer.no_backprop_mode():', '    y = net(x)', "print('output std', float(y.array.std()))");
}

// ---------------------------------------------------------------------------------------------

/**
 * A complete Python snippet that builds the network of `c` in `framework` with the same weight and
 * bias distributions per layer; `exact` is false where the framework cannot express them.
 */
export function codeSnippet(c: RunConfig, framework: Framework): Snippet {
  const layers = layersOf(c);
  const d: Draft = { lines: [], notes: [], exact: true };
  const truncated = layers.some((l) => l.rule.draw === 'truncated');
  if (truncated && (framework === 'chainer1' || framework === 'chainer7')) {
    note(
      d,
      'Chainer has no truncated normal initializer: the snippet draws the plain normal with the same std (same variance; the tails differ, nothing is cut at 2 std).',
      true,
    );
  }
  if (framework === 'pytorch') pytorch(c, layers, d);
  else if (framework === 'keras') keras(c, layers, d);
  else chainer(c, layers, d, framework === 'chainer1');

  const header = [
    ...comment(`initscope configuration exported for ${FRAMEWORK_LABELS[framework]}.`),
    ...comment(`Network: ${describeNetwork(c, layers)}`),
    ...comment(`Weights: ${describeInit(c)}. Biases: ${describeBias(c)}.`),
    ...comment(
      'Each layer block states its sizes, fan_in, fan_out and the std initscope prescribes. The draws follow the same distributions as initscope, not the same random numbers.',
    ),
    ...comment(d.exact ? 'Exact: yes, every layer has the distribution initscope draws.' : 'Exact: NO, see the notes.'),
    ...d.notes.flatMap((n) => comment(`Note: ${n}`)),
    '',
  ];
  return { code: [...header, ...d.lines, ''].join('\n'), exact: d.exact, notes: d.notes };
}
