import { describe, expect, it } from 'vitest';
import { drawWeights } from '../../src/engine/initializers';
import { INITS, defaultRun, usesDist, type LayerShape, type RunConfig } from '../../src/engine/schema';
import { oracleDrawWeights } from './rngOracle';

// drawWeights now fills whole layers in bulk (WebAssembly in Node); share links promise the numbers of
// the original element-by-element loops, so every weight must keep its exact float32 bits.

function dense(fanIn: number, out: number, index = 1): LayerShape {
  return { index, kind: 'dense', inShape: [fanIn], outShape: [out], fanIn, fanOut: out, weightCount: fanIn * out, multiplyAdds: fanIn * out };
}

function conv(channels: number, out: number, k: number, index = 2): LayerShape {
  return { index, kind: 'conv', inShape: [channels, 8, 8], outShape: [out, 8, 8], fanIn: channels * k * k, fanOut: out * k * k, weightCount: out * channels * k * k, multiplyAdds: 0 };
}

const run = (over: Partial<RunConfig>): RunConfig => ({ ...defaultRun(), ...over });

/** The first index where the float32 bits differ, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const wa = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const wb = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return i;
  return -1;
}

// Odd element counts (1, 3, 91, 135, 2145) end on a pending spare normal; 512 x 512 crosses many of
// the wasm module's chunks and blocks.
const SHAPES = [dense(1, 1), dense(3, 1), dense(7, 13), conv(3, 5, 3), dense(33, 65, 4), dense(128, 96, 3)];

describe('drawWeights keeps the bits of the element-by-element draws', () => {
  for (const init of INITS) {
    for (const dist of usesDist(init) ? (['normal', 'truncated'] as const) : (['normal'] as const)) {
      it(`${init}${dist === 'truncated' ? ', truncated' : ''}: many seeds, networks, shapes, fans and scales`, () => {
        let compared = 0;
        for (let k = 0; k < 6; k++) {
          const c = run({ init, dist, seed: `bits ${k}`, scale: [1, 0.5, 1.7][k % 3], fan: k % 2 === 0 ? 'in' : 'out', chainer: k % 2 === 0 ? '1.8' : '1.9' });
          for (const shape of SHAPES) {
            const network = k % 3;
            const got = drawWeights(c, shape, network);
            const want = oracleDrawWeights(c, shape, network);
            expect(firstDifference(got, want), `${JSON.stringify({ seed: c.seed, scale: c.scale, fan: c.fan })} ${shape.kind} ${shape.fanIn}->${shape.outShape[0]} network ${network}`).toBe(-1);
            compared += got.length;
          }
        }
        expect(compared).toBe(6 * (1 + 3 + 91 + 135 + 2145 + 12288));
      });
    }
  }

  for (const over of [{ init: 'he_normal' }, { init: 'he_normal', dist: 'truncated' }, { init: 'glorot_uniform' }] as Partial<RunConfig>[]) {
    it(`a 512 x 512 layer: ${JSON.stringify(over)}`, () => {
      for (const seed of ['big 1', 'big 2']) {
        const c = run({ ...over, seed });
        const shape = dense(512, 512, 3);
        expect(firstDifference(drawWeights(c, shape, 1), oracleDrawWeights(c, shape, 1))).toBe(-1);
      }
    });
  }
});
