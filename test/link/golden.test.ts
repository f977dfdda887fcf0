/**
 * Golden v1 links: links as they appear in slides and papers. They are written out by hand, never
 * produced by encode, and what they mean must never change. The expected configurations are written
 * out in full, so a change of a default that would change an old link's meaning fails here.
 */
import { describe, it, expect } from 'vitest';
import { decode } from '../../src/link/codec';
import type { RunConfig } from '../../src/engine/schema';

/** The defaults of v1, written out: a golden link that omits a key means this value. */
const V1: RunConfig = {
  net: 'mlp',
  input: [512],
  depth: 30,
  width: 512,
  widths: null,
  kernel: 3,
  stride: 1,
  pad: 1,
  act: 'relu',
  slope: 0.01,
  init: 'he_normal',
  scale: 1,
  fan: 'in',
  dist: 'normal',
  chainer: '1.9',
  bias: 0,
  biasStd: 0,
  biasInit: 'normal',
  data: 'normal',
  n: 256,
  nets: 1,
  seed: 'initscope',
};

const WSCALE_LINK =
  'v=1&net=mlp&in=512&depth=30&width=512&act=relu&init=wscale&scale=1.4142135623730951&chainer=1.9&b.init=he_normal';

describe('golden v1 links', () => {
  it('reads the Chainer wscale comparison link', () => {
    const { config, problems } = decode(WSCALE_LINK);
    expect(problems).toEqual([]);
    expect(config.a).toEqual({ ...V1, init: 'wscale', scale: 1.4142135623730951, chainer: '1.9' });
    // A changed init takes its own default scale: B is HeNormal(), scale 1.
    expect(config.b).toEqual({ init: 'he_normal', scale: 1 });
  });

  it.each([
    ['a #hash', `#${WSCALE_LINK}`],
    ['a full URL', `https://example.org/initscope/#${WSCALE_LINK}`],
    ['a full URL with a query before the hash', `https://example.org/initscope/?utm_source=slides#${WSCALE_LINK}`],
    ['a URL with only a query', `https://example.org/initscope/?${WSCALE_LINK}`],
    ['surrounding whitespace', `  \n${WSCALE_LINK}\t `],
  ])('reads the same link from %s', (_, text) => {
    expect(decode(text)).toEqual(decode(WSCALE_LINK));
  });

  it.each([
    ['sqrt(2)', 1.4142135623730951],
    ['1/sqrt(2)', 0.7071067811865475],
    ['sqrt(2)/2', 0.7071067811865476],
    ['sqrt(0.5)', 0.7071067811865476],
    ['2/sqrt(4)', 1],
  ])('reads scale=%s as Chainer people write it', (scale, expected) => {
    const { config, problems } = decode(`v=1&init=wscale&chainer=1.8&scale=${scale}`);
    expect(problems).toEqual([]);
    expect(config.a).toEqual({ ...V1, init: 'wscale', chainer: '1.8', scale: expected });
  });

  it('reads a small CNN link', () => {
    const { config, problems } = decode('v=1&net=cnn&in=3x32x32&depth=10&width=64&kernel=3&pad=1&n=64');
    expect(problems).toEqual([]);
    expect(config).toEqual({ a: { ...V1, net: 'cnn', input: [3, 32, 32], depth: 10, width: 64, n: 64 }, b: null });
  });

  it('reads the CNN input with an upper-case X', () => {
    expect(decode('v=1&net=cnn&in=1X28X28&width=8&depth=2').config.a.input).toEqual([1, 28, 28]);
  });

  it('reads a CNN link: the CNN defaults are 3x32x32 inputs and 16 channels per layer, within the budget', () => {
    const { config, problems } = decode('net=cnn&in=3x32x32&kernel=3&pad=1');
    expect(problems).toEqual([]);
    expect(config.a).toEqual({ ...V1, net: 'cnn', input: [3, 32, 32], width: 16 });
  });

  it('lowers a CNN over the cost limit and names the key to lower', () => {
    const { config, problems } = decode('net=cnn&in=3x64x64&width=512&depth=30');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => ['n', 'nets', 'depth'].includes(p.key))).toBe(true);
    expect(problems.map((p) => p.message).join(' ')).toMatch(/lower (n|depth) to \d+/);
    expect(config.a.width).toBe(512);
  });

  it('reads per-layer widths', () => {
    const { config, problems } = decode('v=1&widths=256,128,64&width=512');
    expect(problems).toEqual([]);
    expect(config.a).toEqual({ ...V1, widths: [256, 128, 64], depth: 3 });
  });

  it('reads every key of the canonical form', () => {
    const link =
      'v=1&net=mlp&in=784&depth=4&width=100&widths=300,200,100,10&kernel=5&stride=2&pad=0&act=leaky_relu&slope=0.2' +
      '&init=lecun_uniform&scale=0.5&fan=out&dist=normal&chainer=1.8&bias=0.1&bias_std=0.05&bias_init=torch' +
      '&data=positive&n=1000&nets=8&seed=slide%2012%20%26%20more';
    const { config, problems } = decode(link);
    expect(problems).toEqual([]);
    expect(config).toEqual({
      a: {
        net: 'mlp',
        input: [784],
        depth: 4,
        width: 100,
        widths: [300, 200, 100, 10],
        kernel: 5,
        stride: 2,
        pad: 0,
        act: 'leaky_relu',
        slope: 0.2,
        init: 'lecun_uniform',
        scale: 0.5,
        fan: 'out',
        dist: 'normal',
        chainer: '1.8',
        bias: 0.1,
        biasStd: 0.05,
        biasInit: 'torch',
        data: 'positive',
        n: 1000,
        nets: 8,
        seed: 'slide 12 & more',
      },
      b: null,
    });
  });

  it("reads '+' as a literal plus, never a space", () => {
    expect(decode('v=1&seed=a+b&bias=+0.5').config.a).toEqual({ ...V1, seed: 'a+b', bias: 0.5 });
  });

  describe('follow rules of B', () => {
    it('a changed init takes its own default scale', () => {
      const { config, problems } = decode('v=1&init=he_normal&b.init=normal');
      expect(problems).toEqual([]);
      expect(config.b).toEqual({ init: 'normal', scale: 0.05 });
    });

    it("a changed init drops A's own scale too: the scale means something else for another init", () => {
      const { config, problems } = decode('v=1&init=he_normal&scale=2&b.init=normal');
      expect(problems).toEqual([]);
      expect(config.b).toEqual({ init: 'normal', scale: 0.05 });
    });

    it('a stated b.scale wins over the follow rule', () => {
      expect(decode('v=1&init=he_normal&b.init=normal&b.scale=0.01').config.b).toEqual({ init: 'normal', scale: 0.01 });
    });

    it('a changed net takes its own default input when A had its default input', () => {
      const { config, problems } = decode('v=1&net=mlp&in=512&b.net=cnn&b.width=16&b.depth=4');
      expect(problems).toEqual([]);
      expect(config.b).toEqual({ net: 'cnn', input: [3, 32, 32], width: 16, depth: 4 });
    });

    it("a changed net keeps A's input when A set its own, and says when it does not fit", () => {
      const { config, problems } = decode('v=1&in=100&b.net=cnn&b.width=8&b.depth=2');
      expect(problems.map((p) => [p.key, p.used])).toEqual([['b.in', '3x32x32']]);
      expect(config.b).toEqual({ net: 'cnn', input: [3, 32, 32], width: 8, depth: 2 });
    });

    it('given widths decide the depth of B', () => {
      const { config, problems } = decode('v=1&depth=3&b.widths=4,4');
      expect(problems).toEqual([]);
      expect(config.b).toEqual({ widths: [4, 4], depth: 2 });
    });

    it("an empty b.widths drops A's widths", () => {
      const { config, problems } = decode('v=1&widths=8,8,8&b.widths=');
      expect(problems).toEqual([]);
      expect(config.a.depth).toBe(3);
      expect(config.b).toEqual({ widths: null });
    });
  });

  it('reads a comparison of several keys', () => {
    const { config, problems } = decode('v=1&depth=10&width=64&act=tanh&init=glorot_normal&b.act=relu&b.init=he_normal&b.seed=other');
    expect(problems).toEqual([]);
    expect(config.a).toEqual({ ...V1, depth: 10, width: 64, act: 'tanh', init: 'glorot_normal' });
    expect(config.b).toEqual({ act: 'relu', init: 'he_normal', seed: 'other' });
  });
});
