import { describe, expect, it } from 'vitest';
import { defaultRun, validateRun, type RunConfig } from '../../src/engine/schema';
import { planShards } from '../../src/engine/shard';
import { runAll, runSharded } from '../../src/engine/simulate';

const config = (over: Partial<RunConfig>) => {
  const { config, problems } = validateRun({ ...defaultRun(), ...over });
  expect(problems).toEqual([]);
  return config;
};

describe('shards', () => {
  it('plans consecutive, non-empty ranges of whole cells covering every cell once', () => {
    const c = config({ n: 100, nets: 3 });
    // 4 cells of 32 samples (the last of 4) per network.
    for (const workers of [1, 2, 3, 5, 12, 64]) {
      const plan = planShards(c, workers);
      expect(plan.length).toBe(Math.min(workers, 12));
      expect(plan[0][0]).toBe(0);
      expect(plan[plan.length - 1][1]).toBe(12);
      for (let i = 0; i < plan.length; i++) {
        expect(plan[i][1]).toBeGreaterThan(plan[i][0]);
        if (i) expect(plan[i][0]).toBe(plan[i - 1][1]);
      }
    }
  });

  // The same link gives the same numbers on a 2-core laptop and a 16-core desktop.
  const cases: [string, Partial<RunConfig>][] = [
    ['ReLU MLP, one network, n not a multiple of the cell', { net: 'mlp', depth: 4, width: 48, input: [40], n: 150, nets: 1, act: 'relu' }],
    ['tanh MLP, three networks, biases, saturation', { net: 'mlp', depth: 3, width: 32, input: [32], n: 70, nets: 3, act: 'tanh', scale: 3, init: 'normal', bias: 0.1, biasStd: 0.2 }],
    ['CNN with stride and padding, two networks', { net: 'cnn', depth: 3, width: 4, input: [3, 10, 10], n: 65, nets: 2, act: 'relu', stride: 2, pad: 1 }],
    ['exploding network with Inf and NaN', { net: 'mlp', depth: 40, width: 16, input: [16], n: 64, nets: 1, act: 'linear', init: 'normal', scale: 30 }],
  ];
  for (const [name, over] of cases) {
    it(`${name}: 1, 2, 3 and 7 workers give bit-identical results`, () => {
      const c = config(over);
      const one = JSON.stringify(runAll(c));
      for (const workers of [2, 3, 7]) expect(JSON.stringify(runSharded(c, workers))).toBe(one);
    });
  }
});
