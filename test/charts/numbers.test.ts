import { describe, expect, it } from 'vitest';
import { formatPercent, formatPowerOfTen, formatValue, logPlace, toNumber } from '../../src/charts/numbers';
import { sampleLayers } from '../../src/charts/sampleLayers';
import { fittingTicks, tickLabel } from '../../src/charts/ticks';
import { scaleLinear } from 'd3';

describe('chart numbers', () => {
  it('reads JSON null as missing and prints it as n/a, never NaN', () => {
    expect(toNumber(null)).toBeNaN();
    expect(formatValue(null)).toBe('n/a');
    expect(formatValue(NaN)).toBe('n/a');
    expect(formatPercent(null)).toBe('n/a');
    expect([formatValue(0), formatValue(1e-40), formatValue(1e30), formatValue(Infinity), formatValue(2)]).toEqual(['0', '1.000e-40', '1.000e+30', 'inf', '2.000']);
    expect(formatPercent(0.482)).toBe('48.2%');
  });

  it('places values on a log axis or pins them to an edge', () => {
    expect(logPlace(100)).toEqual({ kind: 'log', log: 2 });
    expect(logPlace(0)).toEqual({ kind: 'zero' });
    expect(logPlace(-1)).toEqual({ kind: 'zero' });
    expect(logPlace(Infinity)).toEqual({ kind: 'inf' });
    expect(logPlace(null)).toEqual({ kind: 'inf' });
  });

  it('writes powers of ten beyond float64 like formatNumber does', () => {
    expect(formatPowerOfTen(400)).toBe('1.000e+400');
    expect(formatPowerOfTen(-500.25)).toBe('5.623e-501');
    // 10^0.99999 rounds to 10.00: carried into the exponent.
    expect(formatPowerOfTen(2.99999)).toBe('1.000e+3');
  });

  it('labels ticks briefly and keeps only labels that fit', () => {
    expect([5, 0.5, -1e11, 2.5e-12, 1234, 0].map(tickLabel)).toEqual(['5', '0.5', '-1e+11', '2.5e-12', '1234', '0']);
    const x = scaleLinear().domain([-1e11, 2e11]).range([0, 160]);
    const ticks = fittingTicks(x, 0, 160);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    // Labels about 6.8 px a character, 6 px apart at least.
    for (let i = 1; i < ticks.length; i++) expect(ticks[i].x - ticks[i - 1].x).toBeGreaterThan(6 * 6.8);
  });

  it('samples deep networks evenly, first and last included', () => {
    expect(sampleLayers(6, 30)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sampleLayers(10, 4)).toEqual([0, 3, 6, 9]);
    const s = sampleLayers(200, 30);
    expect(s).toHaveLength(30);
    expect([s[0], s[29]]).toEqual([0, 199]);
    expect(sampleLayers(5, 1)).toEqual([0, 4]);
    expect(sampleLayers(0, 30)).toEqual([]);
  });
});
