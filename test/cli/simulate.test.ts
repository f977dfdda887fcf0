import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { main } from '../../src/cli/simulate';

function call(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(args, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const LINK = 'v=1&net=mlp&in=64&depth=4&width=64&n=16&act=relu&init=wscale&scale=sqrt(2)&chainer=1.9&b.init=he_normal';

describe('simulate', () => {
  it('prints the JSON of A and B for a good link', () => {
    const r = call([LINK]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const json = JSON.parse(r.out);
    expect(json.runs.map((x: { label: string }) => x.label)).toEqual(['A', 'B']);
    const [a, b] = json.runs;
    expect(a.config.init).toBe('wscale');
    expect(b.config.init).toBe('he_normal');
    expect(a.link).toContain('init=wscale');
    expect(a.layers).toHaveLength(4);
    const l = a.layers[0];
    for (const key of ['index', 'kind', 'fanIn', 'fanOut', 'weight', 'pre', 'post', 'gradient', 'theory']) expect(l).toHaveProperty(key);
    for (const key of ['mean', 'variance', 'meanSquare', 'std', 'min', 'max', 'zeroFraction', 'saturatedFraction', 'nonFinite', 'quantiles', 'histogram', 'spread'])
      expect(l.pre).toHaveProperty(key);
    expect(l.weight.expectedStd).toBeCloseTo(2 ** 0.25 / 8, 12);
    expect(b.layers[0].weight.expectedStd).toBeCloseTo(Math.sqrt(2 / 64), 12);
    expect(l.theory).toHaveProperty('preVariance');
    expect(l.theory).toHaveProperty('gradientMeanSquare');
    expect(l.gradient).toHaveProperty('meanSquare');
    expect(l.gradient).toHaveProperty('weightMeanSquare');
  });

  it('accepts a full URL and a hash, giving the same numbers', () => {
    const bare = call([LINK]).out;
    expect(call([`#${LINK}`]).out).toBe(bare);
    expect(call([`https://example.org/initscope/#${LINK}`]).out).toBe(bare);
  });

  it('prints conv position maps', () => {
    const json = JSON.parse(call(['v=1&net=cnn&in=2x6x6&depth=2&width=4&n=4']).out);
    const l = json.runs[0].layers[0];
    expect(l.positionVariance).toHaveLength(36);
    expect(l.theory.positionVariance).toHaveLength(36);
  });

  it('prints a table with --format table', () => {
    const r = call([LINK, '--format', 'table']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^A: v=1&/);
    expect(r.out).toContain('pre var');
    expect(r.out.split('\n').filter((line) => /^\d+\s+dense/.test(line))).toHaveLength(8);
  });

  it('a bad link prints one line per problem naming the key and exits 2', () => {
    const r = call(['v=1&depth=abc&act=relux&width=64']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^depth/);
    expect(lines[1]).toMatch(/^act/);
  });

  it('runs as a command: exit 2 and no stack trace for a bad link, JSON on stdout for a good one', () => {
    const bad = spawnSync('npx', ['tsx', 'src/cli/simulate.ts', 'v=1&n=-5'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^n/m);
    expect(bad.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    const good = execFileSync('npx', ['tsx', 'src/cli/simulate.ts', 'depth=2&width=8&in=8&n=4'], { encoding: 'utf8' });
    expect(JSON.parse(good).runs).toHaveLength(1);
  });
});
