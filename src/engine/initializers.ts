/**
 * Weight and bias initializers, exactly as Chainer, PyTorch and Keras define them
 * (shared/REFERENCE.md). A weight matrix has Chainer's layout (out, in) or (out, in, kh, kw),
 * flattened row-major to (out, fanIn).
 */
import type { LayerShape, RunConfig } from './schema';
import { stream } from './rng';

/** The std of a unit normal truncated to [-2, 2] (Keras VarianceScaling's truncated_normal constant). */
export const TRUNCATED_STD = 0.87962566103423978;

/** How the weights of a layer are drawn and the std their formula prescribes. */
export interface WeightRule {
  draw: 'normal' | 'truncated' | 'uniform' | 'orthogonal';
  /** The std the formula prescribes. */
  std: number;
  /** Half-width of the uniform distribution (uniform draws only). */
  bound: number;
  /** The formula with its numbers, e.g. `std = sqrt(2/512) = 0.0625`. */
  formula: string;
}

/** A number with four significant digits, trailing zeros dropped. */
export function short(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e6) return String(Number(x.toPrecision(4)));
  return x.toExponential(3).replace(/\.?0+e/, 'e');
}

const mult = (scale: number) => (scale === 1 ? '' : `${short(scale)} x `);

/**
 * The rule of a layer's weights: He normal std = scale sqrt(2/fan) (He et al. 2015, eq. 10);
 * LeCun std = scale sqrt(1/fan); Glorot std = scale sqrt(2/(fanIn+fanOut)); uniform variants with
 * bound sqrt(3) std; Chainer v1 wscale std = w/sqrt(fanIn) (<= v1.8.2) or sqrt(w)/sqrt(fanIn)
 * (v1.9.0-v1.24.0); PyTorch's default bound 1/sqrt(fanIn); orthogonal std = scale/sqrt(max(out, fanIn)).
 */
export function weightRule(c: RunConfig, shape: Pick<LayerShape, 'fanIn' | 'fanOut' | 'outShape'>): WeightRule {
  const { fanIn, fanOut } = shape;
  const out = shape.outShape[0];
  const fan = c.fan === 'out' ? fanOut : fanIn;
  const fanName = c.fan === 'out' ? 'fan_out' : 'fan_in';
  const s = c.scale;
  const normal = (std: number, formula: string): WeightRule => ({ draw: c.dist === 'truncated' ? 'truncated' : 'normal', std, bound: 0, formula });
  const uniform = (bound: number, formula: string): WeightRule => ({ draw: 'uniform', std: bound / Math.sqrt(3), bound, formula });
  switch (c.init) {
    case 'he_normal': {
      const std = s * Math.sqrt(2 / fan);
      return normal(std, `std = ${mult(s)}sqrt(2/${fan}) = ${short(std)}`);
    }
    case 'he_uniform': {
      const bound = s * Math.sqrt(6 / fan);
      return uniform(bound, `bound = ${mult(s)}sqrt(6/${fan}) = ${short(bound)}, std = ${short(bound / Math.sqrt(3))}`);
    }
    case 'lecun_normal': {
      const std = s * Math.sqrt(1 / fan);
      return normal(std, `std = ${mult(s)}sqrt(1/${fan}) = ${short(std)}`);
    }
    case 'lecun_uniform': {
      const bound = s * Math.sqrt(3 / fan);
      return uniform(bound, `bound = ${mult(s)}sqrt(3/${fan}) = ${short(bound)}, std = ${short(bound / Math.sqrt(3))}`);
    }
    case 'glorot_normal': {
      const std = s * Math.sqrt(2 / (fanIn + fanOut));
      return normal(std, `std = ${mult(s)}sqrt(2/(${fanIn}+${fanOut})) = ${short(std)}`);
    }
    case 'glorot_uniform': {
      const bound = s * Math.sqrt(6 / (fanIn + fanOut));
      return uniform(bound, `bound = ${mult(s)}sqrt(6/(${fanIn}+${fanOut})) = ${short(bound)}, std = ${short(bound / Math.sqrt(3))}`);
    }
    case 'normal':
      return normal(s, `std = ${short(s)}`);
    case 'uniform':
      return uniform(s, `bound = ${short(s)}, std = ${short(s / Math.sqrt(3))}`);
    case 'orthogonal': {
      const std = s / Math.sqrt(Math.max(out, fanIn));
      return { draw: 'orthogonal', std, bound: 0, formula: `orthogonal x ${short(s)}: std = ${short(s)}/sqrt(${Math.max(out, fanIn)}) = ${short(std)}` };
    }
    case 'wscale': {
      if (c.chainer === '1.8') {
        const std = s / Math.sqrt(fanIn);
        return { draw: 'normal', std, bound: 0, formula: `Chainer <= v1.8.2: std = wscale/sqrt(fan_in) = ${short(s)}/sqrt(${fanIn}) = ${short(std)}` };
      }
      const std = Math.sqrt(s) / Math.sqrt(fanIn);
      return { draw: 'normal', std, bound: 0, formula: `Chainer v1.9-v1.24: std = sqrt(wscale)/sqrt(fan_in) = sqrt(${short(s)})/sqrt(${fanIn}) = ${short(std)}` };
    }
    case 'torch_default': {
      const bound = s / Math.sqrt(fanIn);
      return uniform(bound, `PyTorch default kaiming_uniform_(a=sqrt(5)): bound = ${mult(s)}1/sqrt(${fanIn}) = ${short(bound)}, std = ${short(bound / Math.sqrt(3))}`);
    }
  }
  // Unreachable for a validated config; keeps the compiler's exhaustiveness honest.
  throw new Error(`unknown init: ${String(c.init)} (${fanName})`);
}

/**
 * Draws the weights of one layer of one network as float32, shape (out, fanIn) row-major.
 * Every rule reads the same `weight` stream element by element, so with one seed he_normal and
 * lecun_normal weights differ by exactly sqrt(2) (up to float32 rounding).
 */
export function drawWeights(c: RunConfig, shape: LayerShape, network: number, into?: Float32Array): Float32Array {
  const rule = weightRule(c, shape);
  const out = shape.outShape[0];
  const count = out * shape.fanIn;
  // `into` (at least count floats) is reused by callers that draw layer after layer.
  const w = into && into.length >= count ? into.subarray(0, count) : new Float32Array(count);
  const rng = stream(c.seed, 'weight', network, shape.index);
  switch (rule.draw) {
    case 'normal':
      rng.fillNormal(w, rule.std);
      break;
    case 'truncated':
      // Keras: N(0, (std/0.8796)^2) cut at two of its stds. Rejected draws are replaced from a separate
      // stream so that the accepted elements stay aligned with the plain normal draws.
      rng.fillTruncatedNormal(w, rule.std / TRUNCATED_STD, stream(c.seed, 'weight-extra', network, shape.index));
      break;
    case 'uniform':
      rng.fillUniform(w, rule.bound);
      break;
    case 'orthogonal': {
      const z = new Float64Array(count);
      rng.fillNormal(z);
      const q = orthonormalize(z, out, shape.fanIn);
      for (let i = 0; i < count; i++) w[i] = c.scale * q[i];
      break;
    }
  }
  return w;
}

/**
 * Orthonormal rows (rows <= cols) or columns (rows > cols) of a Gaussian matrix, by Householder QR
 * with the signs of R's diagonal folded into Q so that the result is Haar-distributed.
 */
export function orthonormalize(a: Float64Array, rows: number, cols: number): Float64Array {
  // Work on M (p x q, p >= q) whose columns are to be orthonormalized: M = A^T if rows <= cols, else A.
  const transpose = rows <= cols;
  const p = transpose ? cols : rows;
  const q = transpose ? rows : cols;
  // m is stored column-major: column j at m[j*p ... j*p+p).
  const m = new Float64Array(p * q);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < cols; k++) {
      const v = a[r * cols + k];
      if (transpose) m[r * p + k] = v;
      else m[k * p + r] = v;
    }
  const vs: Float64Array[] = [];
  const signs = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    const col = j * p;
    let norm = 0;
    for (let i = j; i < p; i++) norm += m[col + i] * m[col + i];
    norm = Math.sqrt(norm);
    const alpha = m[col + j] > 0 ? -norm : norm;
    // R[j][j] = alpha; sign(R_jj) makes Q unique.
    signs[j] = alpha < 0 ? -1 : 1;
    const v = new Float64Array(p - j);
    for (let i = j; i < p; i++) v[i - j] = m[col + i];
    v[0] -= alpha;
    let vnorm = 0;
    for (let i = 0; i < v.length; i++) vnorm += v[i] * v[i];
    vs.push(v);
    if (vnorm === 0) continue;
    const beta = 2 / vnorm;
    for (let jj = j; jj < q; jj++) {
      const c2 = jj * p;
      let dot = 0;
      for (let i = j; i < p; i++) dot += v[i - j] * m[c2 + i];
      dot *= beta;
      for (let i = j; i < p; i++) m[c2 + i] -= dot * v[i - j];
    }
  }
  // Q's first q columns: apply the reflectors to the identity's columns, in reverse.
  const qm = new Float64Array(p * q);
  for (let j = 0; j < q; j++) qm[j * p + j] = 1;
  for (let j = q - 1; j >= 0; j--) {
    const v = vs[j];
    let vnorm = 0;
    for (let i = 0; i < v.length; i++) vnorm += v[i] * v[i];
    if (vnorm === 0) continue;
    const beta = 2 / vnorm;
    for (let jj = 0; jj < q; jj++) {
      const c2 = jj * p;
      let dot = 0;
      for (let i = j; i < p; i++) dot += v[i - j] * qm[c2 + i];
      dot *= beta;
      if (dot !== 0) for (let i = j; i < p; i++) qm[c2 + i] -= dot * v[i - j];
    }
  }
  const outArr = new Float64Array(rows * cols);
  for (let j = 0; j < q; j++) {
    const sgn = signs[j];
    for (let i = 0; i < p; i++) {
      const v = sgn * qm[j * p + i];
      if (transpose) outArr[j * cols + i] = v;
      else outArr[i * cols + j] = v;
    }
  }
  return outArr;
}

/** Mean and variance of one bias element: `bias` + N(0, bias_std^2), or PyTorch's U[-1/sqrt(fanIn), 1/sqrt(fanIn)]. */
export function biasMoments(c: RunConfig, shape: Pick<LayerShape, 'fanIn'>): { mean: number; variance: number } {
  if (c.biasInit === 'torch') return { mean: 0, variance: 1 / (3 * shape.fanIn) };
  return { mean: c.bias, variance: c.biasStd * c.biasStd };
}

/** Draws the biases of one layer of one network as float32 (one per output unit or channel). */
export function drawBiases(c: RunConfig, shape: LayerShape, network: number): Float32Array {
  const out = shape.outShape[0];
  const b = new Float32Array(out);
  const rng = stream(c.seed, 'bias', network, shape.index);
  if (c.biasInit === 'torch') {
    const bound = 1 / Math.sqrt(shape.fanIn);
    for (let i = 0; i < out; i++) b[i] = bound * (2 * rng.uniform() - 1);
  } else {
    for (let i = 0; i < out; i++) b[i] = c.bias + (c.biasStd === 0 ? 0 : c.biasStd * rng.normal());
  }
  return b;
}
