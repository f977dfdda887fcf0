import { describe, it, expect } from 'vitest';
import { activation, SELU_ALPHA, SELU_LAMBDA } from '../../src/engine/activations';
import { ACTIVATIONS } from '../../src/engine/schema';

/** Relative difference, with a floor so values near 0 are compared absolutely. */
function rel(a: number, b: number, floor = 1e-300): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), floor);
}

// Away from the kink at 0, where relu, leaky relu and selu have no derivative.
const POINTS = [-30, -7, -2.5, -1.3, -0.4, 0.3, 0.9, 2.5, 7, 30];

describe('activation derivatives', () => {
  for (const name of ACTIVATIONS) {
    it(`${name}: dphi matches a central difference of phi`, () => {
      const act = activation(name, 0.2);
      for (const y of POINTS) {
        const h = 1e-5 * Math.max(1, Math.abs(y));
        const fd = (act.phi(y + h) - act.phi(y - h)) / (2 * h);
        // Truncation h^2/6 |phi'''| <= 2e-11 (|phi'''| <= 1 here) plus rounding eps |phi| / h <= 7e-10
        // for |phi| <= 32: 1e-8 is wide enough for both and far below any wrong factor.
        expect(Math.abs(fd - act.dphi(y)), `${name} at ${y}`).toBeLessThan(1e-8 * Math.max(1, Math.abs(act.dphi(y))));
      }
    });
  }
});

describe('known values (references from mpmath at 40 digits)', () => {
  // 4 ulp: detmath's fdlibm functions are within 1 ulp, plus the few operations around them.
  const ULPS = 1e-15;

  it('selu uses the constants of Klambauer et al.', () => {
    const selu = activation('selu', 0);
    expect(SELU_LAMBDA).toBe(1.0507009873554805);
    expect(SELU_ALPHA).toBe(1.6732632423543772);
    expect(selu.phi(1)).toBe(SELU_LAMBDA);
    expect(rel(selu.phi(-1), -1.1113307378125628)).toBeLessThan(ULPS);
    expect(selu.dphi(2)).toBe(SELU_LAMBDA);
  });

  it('gelu is exact y Phi(y), accurate in the far negative tail', () => {
    const gelu = activation('gelu', 0);
    expect(rel(gelu.phi(1), 0.8413447460685429)).toBeLessThan(ULPS);
    expect(rel(gelu.phi(-1), -0.15865525393145705)).toBeLessThan(ULPS);
    // 1 - erf would lose everything here; erfc keeps the relative accuracy.
    expect(rel(gelu.phi(-10), -7.619853024160526e-23)).toBeLessThan(1e-13);
    expect(rel(gelu.phi(-30), -1.472014178144456e-196)).toBeLessThan(1e-13);
    expect(rel(gelu.dphi(-5), -7.146946001792295e-6)).toBeLessThan(1e-12);
  });

  it('softplus, sigmoid, tanh, elu, swish', () => {
    const softplus = activation('softplus', 0);
    expect(rel(softplus.phi(0), Math.LN2)).toBeLessThan(ULPS);
    expect(rel(softplus.phi(-30), 9.357622968839737e-14)).toBeLessThan(ULPS);
    expect(softplus.phi(800)).toBe(800);
    expect(softplus.phi(-800)).toBe(0);

    const sigmoid = activation('sigmoid', 0);
    expect(sigmoid.phi(0)).toBe(0.5);
    expect(rel(sigmoid.phi(-40), 4.248354255291589e-18)).toBeLessThan(ULPS);
    const far = sigmoid.phi(-800);
    expect(Number.isFinite(far) && far >= 0).toBe(true);
    expect(sigmoid.phi(800)).toBe(1);
    expect(sigmoid.dphi(-800)).toBe(0);

    const tanh = activation('tanh', 0);
    expect(rel(tanh.phi(0.5), 0.46211715726000974)).toBeLessThan(ULPS);
    // sech^2(20) from 1 - tanh^2 would be 0 or garbage; the stable form keeps 15 digits.
    expect(rel(tanh.dphi(20), 1.6993417021166355e-17)).toBeLessThan(1e-14);
    expect(tanh.dphi(0)).toBe(1);

    const elu = activation('elu', 0);
    expect(rel(elu.phi(-1), -0.6321205588285577)).toBeLessThan(ULPS);
    expect(rel(elu.dphi(-1), Math.exp(-1))).toBeLessThan(ULPS);

    const swish = activation('swish', 0);
    expect(rel(swish.phi(1), 0.7310585786300049)).toBeLessThan(ULPS);
    expect(swish.dphi(0)).toBe(0.5);
  });

  it('relu, leaky relu and linear', () => {
    const relu = activation('relu', 0.3);
    expect([relu.phi(-2), relu.phi(3)]).toEqual([0, 3]);
    const leaky = activation('leaky_relu', 0.1);
    expect([leaky.phi(-2), leaky.phi(3)]).toEqual([-0.2, 3]);
    expect([leaky.dphi(-2), leaky.dphi(3)]).toEqual([0.1, 1]);
    const linear = activation('linear', 0);
    expect([linear.phi(-2.5), linear.dphi(-2.5)]).toEqual([-2.5, 1]);
  });
});

describe('conventions at the kink and at the edges', () => {
  it('derivative at exactly 0 follows PyTorch: relu 0, leaky slope, elu 1, selu lambda alpha', () => {
    expect(activation('relu', 0).dphi(0)).toBe(0);
    expect(activation('leaky_relu', 0.25).dphi(0)).toBe(0.25);
    expect(activation('elu', 0).dphi(0)).toBe(1);
    expect(activation('selu', 0).dphi(0)).toBe(SELU_LAMBDA * SELU_ALPHA);
    expect(activation('gelu', 0).dphi(0)).toBe(0.5);
  });

  it('gives limits, not NaN, at +-Infinity, and keeps NaN as NaN', () => {
    for (const name of ACTIVATIONS) {
      for (const slope of [0, 0.2]) {
        const act = activation(name, slope);
        for (const y of [Infinity, -Infinity, 1e300, -1e300]) {
          expect(Number.isNaN(act.phi(y)), `${name}(${y}) slope ${slope}`).toBe(false);
          expect(Number.isNaN(act.dphi(y)), `${name}'(${y}) slope ${slope}`).toBe(false);
        }
        expect(Number.isNaN(act.phi(NaN)), `${name}(NaN)`).toBe(true);
        expect(Number.isNaN(act.dphi(NaN)), `${name}'(NaN)`).toBe(true);
      }
    }
    expect(activation('gelu', 0).phi(-Infinity)).toBe(0);
    expect(activation('swish', 0).dphi(Infinity)).toBe(1);
    expect(activation('tanh', 0).dphi(-Infinity)).toBe(0);
  });

  it('saturation: tanh beyond 0.99 in magnitude, sigmoid outside [0.01, 0.99], nothing else', () => {
    const tanh = activation('tanh', 0);
    expect([tanh.saturated(0.995), tanh.saturated(-0.995), tanh.saturated(0.98), tanh.saturated(0.99)]).toEqual([true, true, false, false]);
    const sigmoid = activation('sigmoid', 0);
    expect([sigmoid.saturated(0.005), sigmoid.saturated(0.995), sigmoid.saturated(0.5), sigmoid.saturated(0.01)]).toEqual([true, true, false, false]);
    for (const name of ACTIVATIONS.filter((n) => n !== 'tanh' && n !== 'sigmoid')) {
      const act = activation(name, 0.01);
      expect([act.saturated(0), act.saturated(0.995), act.saturated(1e6)], name).toEqual([false, false, false]);
    }
  });

  it('names and slope are carried, and an unknown name is rejected by name', () => {
    const act = activation('leaky_relu', 0.3);
    expect([act.name, act.slope]).toEqual(['leaky_relu', 0.3]);
    expect(() => activation('mish' as never, 0)).toThrow(/unknown activation: mish/);
  });
});
