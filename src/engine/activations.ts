/**
 * The activation functions, their derivatives and their saturation tests, in float64 (the caller
 * rounds to float32). Elementary functions come from detmath so that every JavaScript engine gives
 * the same bits. `activation()` returns closures specialised once per run: the hot loops call
 * `phi`/`dphi` per element without a switch.
 *
 * Derivatives at the kink y = 0 follow PyTorch's backward kernels: relu 0, leaky_relu `slope`,
 * elu 1 (= alpha e^0), selu lambda*alpha. NaN stays NaN, and y = +-Infinity gives the limits
 * (no Infinity * 0).
 */
import type { Activation } from './schema';
import { erfc, exp, expm1, log1p, tanh } from './detmath';

/** One activation: y -> phi(y), its derivative, and whether a post-activation value counts as saturated. */
export interface ActivationFn {
  name: Activation;
  /** The negative-side slope given to `activation()`; only leaky_relu uses it. */
  slope: number;
  phi(y: number): number;
  dphi(y: number): number;
  saturated(post: number): boolean;
}

/** SELU's lambda (Klambauer et al. 2017). */
export const SELU_LAMBDA = 1.0507009873554804934193349852946;
/** SELU's alpha (Klambauer et al. 2017). */
export const SELU_ALPHA = 1.6732632423543772848170429916717;

const SQRT1_2 = Math.SQRT1_2;
/** 1/sqrt(2 pi). */
const INV_SQRT_2PI = 0.3989422804014327;

const never = (): boolean => false;

/** Standard normal CDF Phi(y) = erfc(-y/sqrt 2)/2, accurate in both tails. */
function Phi(y: number): number {
  return 0.5 * erfc(-y * SQRT1_2);
}

/** The activation `name` (leaky_relu with negative slope `slope`) as specialised closures. */
export function activation(name: Activation, slope: number): ActivationFn {
  switch (name) {
    case 'linear':
      return { name, slope, phi: (y) => y, dphi: (y) => (y === y ? 1 : y), saturated: never };
    case 'relu':
      return reluLike(name, slope);
    case 'leaky_relu': {
      // slope 0 is relu; the general closure would give 0 * -Infinity = NaN.
      if (slope === 0) return reluLike(name, slope);
      return {
        name,
        slope,
        phi: (y) => (y < 0 ? slope * y : y),
        dphi: (y) => (y > 0 ? 1 : y <= 0 ? slope : y),
        saturated: never,
      };
    }
    case 'elu':
      return {
        name,
        slope,
        phi: (y) => (y > 0 ? y : expm1(y)),
        dphi: (y) => (y > 0 ? 1 : exp(y)),
        saturated: never,
      };
    case 'selu':
      return {
        name,
        slope,
        phi: (y) => (y > 0 ? SELU_LAMBDA * y : SELU_LAMBDA * SELU_ALPHA * expm1(y)),
        dphi: (y) => (y > 0 ? SELU_LAMBDA : SELU_LAMBDA * SELU_ALPHA * exp(y)),
        saturated: never,
      };
    case 'tanh':
      return {
        name,
        slope,
        phi: (y) => tanh(y),
        // sech^2 y = 4u/(1+u)^2 with u = e^(-2|y|): no cancellation in 1 - tanh^2 for large |y|.
        dphi: (y) => {
          const u = exp(-2 * Math.abs(y));
          return (4 * u) / ((1 + u) * (1 + u));
        },
        saturated: (post) => Math.abs(post) > 0.99,
      };
    case 'sigmoid':
      return {
        name,
        slope,
        phi: sigmoid,
        dphi: (y) => {
          const u = exp(-Math.abs(y));
          return u / ((1 + u) * (1 + u));
        },
        saturated: (post) => post < 0.01 || post > 0.99,
      };
    case 'softplus':
      return {
        name,
        slope,
        phi: (y) => Math.max(y, 0) + log1p(exp(-Math.abs(y))),
        dphi: sigmoid,
        saturated: never,
      };
    case 'gelu':
      return {
        name,
        slope,
        phi: (y) => {
          const p = Phi(y);
          return p === 0 ? 0 : y * p;
        },
        // Phi(y) + y phi(y); the density term is skipped where it underflows (y = +-Infinity).
        dphi: (y) => {
          const p = Phi(y);
          const d = exp(-0.5 * y * y);
          return d === 0 ? p : p + y * d * INV_SQRT_2PI;
        },
        saturated: never,
      };
    case 'swish':
      return {
        name,
        slope,
        phi: (y) => {
          const s = sigmoid(y);
          return s === 0 ? 0 : y * s;
        },
        // s (1 + y (1 - s)), with 1 - s = sigmoid(-y) computed without cancellation.
        dphi: (y) => {
          const u = exp(-Math.abs(y));
          const big = 1 / (1 + u);
          const small = u / (1 + u);
          const s = y >= 0 ? big : small;
          const q = y >= 0 ? small : big;
          return q === 0 ? s : s === 0 ? 0 : s * (1 + y * q);
        },
        saturated: never,
      };
    default:
      throw new Error(`unknown activation: ${String(name)}`);
  }
}

function reluLike(name: Activation, slope: number): ActivationFn {
  return {
    name,
    slope,
    phi: (y) => (y < 0 ? 0 : y),
    dphi: (y) => (y > 0 ? 1 : y <= 0 ? 0 : y),
    saturated: never,
  };
}

/** Logistic sigmoid 1/(1+e^-y), evaluated through e^-|y| so it never overflows. */
function sigmoid(y: number): number {
  const u = exp(-Math.abs(y));
  return y >= 0 ? 1 / (1 + u) : u / (1 + u);
}
