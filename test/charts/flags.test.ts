import { describe, expect, it } from 'vitest';
import {
  DEAD_ZERO_FRACTION,
  EXPLODED_VARIANCE,
  SATURATED_FRACTION,
  VANISHED_RATIO,
  VANISHED_VARIANCE,
  layerFlags,
} from '../../src/charts/flags';
import type { LayerResult } from '../../src/engine/simulate';
import { jsonNull, tinyRun, withStats } from './fixtures';

const base = tinyRun().layers[2];
const ids = (layer: LayerResult, act: Parameters<typeof layerFlags>[1] = 'relu', first?: number) =>
  layerFlags(layer, act, layer.theory, first).map((f) => f.id);
const withVariance = (v: number) => withStats(base, (l) => (l.pre.variance = v));

describe('layerFlags', () => {
  it('documents thresholds a reader can check', () => {
    expect([VANISHED_VARIANCE, VANISHED_RATIO, EXPLODED_VARIANCE, DEAD_ZERO_FRACTION, SATURATED_FRACTION]).toEqual([1e-8, 1e-4, 1e4, 0.6, 0.2]);
  });

  it('raises nothing for a healthy He ReLU network', () => {
    // n = 64 x width 16 = 1024 post-activations per layer: the zero fraction has std sqrt(0.25/1024) = 1.6%,
    // so 60% is more than six standard deviations above the expected 50%.
    const r = tinyRun({ n: 64 });
    for (const l of r.layers) expect(layerFlags(l, 'relu', l.theory, r.layers[0].pre.variance)).toEqual([]);
  });

  it('vanished: below 1e-8 absolutely, or below 1e-4 of the first layer', () => {
    expect(ids(withVariance(0.99e-8))).toContain('vanished');
    expect(ids(withVariance(1e-8))).not.toContain('vanished');
    expect(ids(withVariance(0))).toContain('vanished');
    expect(ids(withVariance(1.99e-4), 'relu', 2)).toContain('vanished');
    expect(ids(withVariance(2.01e-4), 'relu', 2)).not.toContain('vanished');
    // Without the first layer only the absolute rule applies.
    expect(ids(withVariance(1.99e-4))).not.toContain('vanished');
  });

  it('vanished fires on the real wscale story (0.707x per layer) deep down, not early', () => {
    // Var[y] shrinks by sqrt(2)/2 per layer: layer 30 holds 0.707^29 = 4e-5 of layer 1, layer 10 holds 4.4%.
    const r = tinyRun({ depth: 30, width: 64, input: [64], n: 16, init: 'wscale', scale: Math.SQRT2, chainer: '1.9' });
    const first = r.layers[0].pre.variance;
    expect(ids(r.layers[29], 'relu', first)).toContain('vanished');
    expect(ids(r.layers[9], 'relu', first)).not.toContain('vanished');
  });

  it('exploded: variance above 1e4 or any Inf/NaN; nonfinite counts them', () => {
    expect(ids(withVariance(1.01e4))).toEqual(['exploded']);
    expect(ids(withVariance(1e4))).toEqual([]);
    const inf = withStats(base, (l) => (l.pre.nonFinite = 3));
    expect(ids(inf)).toEqual(['exploded', 'nonfinite']);
    const flag = layerFlags(inf, 'relu').find((f) => f.id === 'nonfinite')!;
    expect(flag.label).toBe('non-finite');
    expect(flag.title).toMatch(/3 pre-activation and 0 post-activation values are non-finite/);
  });

  it('dead: a ReLU-family zero fraction above 0.6, and only for activations that output exact zeros', () => {
    const dead = withStats(base, (l) => (l.post.zeroFraction = 0.61));
    const alive = withStats(base, (l) => (l.post.zeroFraction = 0.6));
    expect(ids(dead, 'relu')).toEqual(['dead']);
    expect(ids(dead, 'leaky_relu')).toEqual(['dead']);
    expect(ids(alive, 'relu')).toEqual([]);
    expect(ids(dead, 'tanh')).toEqual([]);
    const title = layerFlags(dead, 'relu', dead.theory)[0].title;
    // He ReLU with zero bias: the theory expects half the outputs to be 0.
    expect(title).toMatch(/61\.0% of the relu outputs are exactly 0/);
    expect(title).toMatch(/theory expects 50\.0%/);
  });

  it('saturated: more than 20% of the outputs near an asymptote', () => {
    expect(ids(withStats(base, (l) => (l.post.saturatedFraction = 0.21)), 'tanh')).toEqual(['saturated']);
    expect(ids(withStats(base, (l) => (l.post.saturatedFraction = 0.2)), 'tanh')).toEqual([]);
  });

  it('saturated fires on a real tanh network with a large weight scale', () => {
    // std = 3/sqrt(fanIn) makes Var[y] about 9 E[x^2]: most tanh outputs sit beyond +-0.99.
    const r = tinyRun({ act: 'tanh', init: 'lecun_normal', scale: 3, n: 32 });
    expect(ids(r.layers[5], 'tanh')).toContain('saturated');
  });

  it('reads statistics that JSON turned into null without inventing flags or printing NaN', () => {
    const nulls = withStats(base, (l) => {
      l.pre.variance = jsonNull();
      l.pre.nonFinite = jsonNull();
      l.post.zeroFraction = jsonNull();
      l.post.saturatedFraction = jsonNull();
    });
    expect(layerFlags(nulls, 'relu', nulls.theory, 2)).toEqual([]);
    const all = layerFlags(withStats(base, (l) => ((l.pre.variance = 0), (l.post.zeroFraction = 1), (l.pre.nonFinite = 5))), 'relu', base.theory, 2);
    expect(all.map((f) => f.id)).toEqual(['vanished', 'exploded', 'dead', 'nonfinite']);
    for (const f of all) expect(f.title).not.toMatch(/NaN|undefined/);
  });
});
