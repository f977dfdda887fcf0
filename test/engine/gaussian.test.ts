import { describe, it, expect } from 'vitest';
import { gaussianExpectation, gaussianMoments, gaussianRule, normalCdf, normalPdf } from '../../src/engine/gaussian';
import { activation } from '../../src/engine/activations';

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

/** Plain trapezoid in z over [-14, 14] with `points` nodes: for a smooth integrand times the Gaussian it converges spectrally, independently of the rule under test. */
function trapezoid(f: (y: number) => number, mean: number, variance: number, points = 200_000): number {
  const sd = Math.sqrt(variance);
  const h = 28 / (points - 1);
  let sum = 0;
  for (let i = 0; i < points; i++) {
    const z = -14 + i * h;
    sum += f(mean + sd * z) * Math.exp(-0.5 * z * z);
  }
  return (sum * h) / Math.sqrt(2 * Math.PI);
}

describe('normalPdf and normalCdf (references from mpmath at 40 digits)', () => {
  it('are accurate in the tails', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(rel(normalCdf(5), 0.9999997133484281)).toBeLessThan(1e-15);
    // 1 - Phi(10) would be 0; erfc keeps 13+ digits.
    expect(rel(normalCdf(-10), 7.619853024160525e-24)).toBeLessThan(1e-13);
    expect(rel(normalCdf(-30), 4.906713927148187e-198)).toBeLessThan(1e-13);
    // exp(-x^2/2) with x^2 rounded loses ~x^2 eps = 1e-13 at 30; the split keeps ~1e-15.
    expect(rel(normalPdf(30), 1.4736461348785476e-196)).toBeLessThan(1e-14);
    expect(rel(normalPdf(-7.3), 1.0693837871541648e-12)).toBeLessThan(1e-14);
  });
});

describe('gaussianExpectation', () => {
  const cases: [number, number][] = [
    [0, 1],
    [0.3, 1e-6],
    [-1.5, 0.01],
    [2, 10],
    [0.1, 1000],
    [-40, 1e6],
  ];

  it('E[Y^2] = m^2 + v', () => {
    // Gauss-Legendre is exact for polynomials on each panel; what is left is rounding and the tail
    // beyond 12 sd (e^-72): 1e-13 relative.
    for (const [m, v] of cases) expect(rel(gaussianExpectation((y) => y * y, m, v), m * m + v), `${m}, ${v}`).toBeLessThan(1e-13);
  });

  it('E[exp(Y)] = exp(m + v/2)', () => {
    // The mass of e^y phi sits sd to the right of the mean: still 10 sd inside the range for v <= 4.
    for (const [m, v] of [
      [0, 1],
      [0.5, 2],
      [-1, 0.25],
      [3, 4],
    ]) {
      expect(rel(gaussianExpectation(Math.exp, m, v), Math.exp(m + v / 2)), `${m}, ${v}`).toBeLessThan(1e-13);
    }
  });

  it('E[relu(Y)^2] matches its closed form, including where the kink is far in the tail', () => {
    const relu2 = (y: number) => (y > 0 ? y * y : 0);
    for (const [m, v] of [
      [0, 1],
      [0.7, 2],
      [-0.7, 2],
      [3, 0.5],
      [-2, 1],
      [0.01, 1e4],
    ]) {
      const s = Math.sqrt(v);
      const t = m / s;
      const closed = (m * m + v) * normalCdf(t) + m * s * normalPdf(t);
      expect(rel(gaussianExpectation(relu2, m, v), closed), `${m}, ${v}`).toBeLessThan(1e-12);
    }
    // 8 and 20 sd below the kink the closed form cancels in float64; references from mpmath.
    expect(rel(gaussianExpectation(relu2, -8, 1), 1.80750644714585e-17)).toBeLessThan(1e-11);
    expect(rel(gaussianExpectation(relu2, -20, 1), 1.3599129147073809e-91)).toBeLessThan(1e-11);
  });

  it("keeps its relative accuracy where the integrand's mass sits far from the mean", () => {
    // gelu(y)^2 ~ e^(-y^2) at y ~ -20 pulls the mass 4 sd to the right of the mean; mpmath reference.
    const gelu = activation('gelu', 0);
    expect(rel(gaussianExpectation((y) => gelu.phi(y) ** 2, -20, 0.01), 7.650919842175511e-172)).toBeLessThan(1e-11);
  });

  it('E[tanh(Y)^2] at variance 10 agrees with a 200000-point trapezoid (low-order Gauss-Hermite is 7% off here)', () => {
    for (const [m, v] of [
      [0, 10],
      [0.5, 10],
      [0.1, 1000],
      [-0.2, 0.3],
    ]) {
      const reference = trapezoid((y) => Math.tanh(y) ** 2, m, v);
      // Both sides are good to ~1e-14; 1e-12 leaves room for the detmath vs Math.tanh last bits.
      expect(rel(gaussianExpectation((y) => Math.tanh(y) ** 2, m, v), reference), `${m}, ${v}`).toBeLessThan(1e-12);
    }
  });

  it('is accurate for the smooth activations where they bend at a different scale than the Gaussian', () => {
    for (const name of ['gelu', 'swish', 'softplus', 'sigmoid'] as const) {
      const act = activation(name, 0);
      for (const [m, v] of [
        [0, 50],
        [0.3, 0.02],
      ]) {
        const reference = trapezoid((y) => act.phi(y) ** 2, m, v);
        expect(rel(gaussianExpectation((y) => act.phi(y) ** 2, m, v), reference), `${name} ${m}, ${v}`).toBeLessThan(1e-12);
      }
    }
  });

  it('variance 0 gives f(mean) and a bad variance is rejected by value', () => {
    expect(gaussianExpectation((y) => y * y * y, 1.7, 0)).toBe(1.7 * 1.7 * 1.7);
    expect(gaussianRule(2, 0).y).toEqual(Float64Array.of(2));
    expect(() => gaussianExpectation((y) => y, 0, -1)).toThrow(/variance -1/);
    expect(() => gaussianExpectation((y) => y, 0, NaN)).toThrow(/variance NaN/);
  });

  it('allows an integrand that itself takes an expectation', () => {
    // E_Y[E_X[(X + Y)^2]] = E[1 + Y^2] = 1 + m^2 + v.
    const outer = gaussianExpectation((y) => gaussianExpectation((x) => (x + y) ** 2, 0, 1), 0.5, 2);
    expect(rel(outer, 1 + 0.25 + 2)).toBeLessThan(1e-13);
  });
});

describe('gaussianRule and gaussianMoments', () => {
  it('the weights sum to 1 and the moments agree with separate expectations', () => {
    for (const [m, v] of [
      [0, 1],
      [1.3, 1e-4],
      [-0.5, 1e5],
    ]) {
      const { weight } = gaussianRule(m, v);
      expect(Math.abs(weight.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-14);
      const act = activation('elu', 0);
      const r = gaussianMoments(act.phi, act.dphi, m, v);
      // Same nodes and weights; only w f f against w (f f) rounds differently.
      expect(rel(r.mean, gaussianExpectation(act.phi, m, v))).toBeLessThan(1e-14);
      expect(rel(r.meanSquare, gaussianExpectation((y) => act.phi(y) ** 2, m, v))).toBeLessThan(1e-14);
      expect(rel(r.derivativeMeanSquare, gaussianExpectation((y) => act.dphi(y) ** 2, m, v))).toBeLessThan(1e-14);
    }
  });
});
