/**
 * The draws as src/engine/rng.ts and drawWeights made them before the bulk fills (commit 64cd180),
 * kept verbatim as the oracle of the numbers that share links promise: seedrandom's own Alea
 * closure, the polar method with detmath's log, one call per element.
 */
import seedrandom from 'seedrandom';
import { log } from '../../src/engine/detmath';
import { TRUNCATED_STD, orthonormalize, weightRule } from '../../src/engine/initializers';
import type { LayerShape, RunConfig } from '../../src/engine/schema';

/** The original Stream. */
export class OracleStream {
  private readonly next: () => number;
  private spare = 0;
  private hasSpare = false;

  /** Seeded by key, or (for crafted cases) started from a given Alea state. */
  constructor(key: string | seedrandom.State.Alea) {
    this.next = typeof key === 'string' ? seedrandom.alea(key) : seedrandom.alea('', { state: { ...key } });
  }

  uniform(): number {
    return this.next();
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }
}

/** The original stream(). */
export function oracleStream(seed: string, purpose: string, network: number, layer: number): OracleStream {
  return new OracleStream(JSON.stringify(['initscope/1', seed, purpose, network, layer]));
}

/** The original drawWeights. */
export function oracleDrawWeights(c: RunConfig, shape: LayerShape, network: number): Float32Array {
  const rule = weightRule(c, shape);
  const out = shape.outShape[0];
  const count = out * shape.fanIn;
  const w = new Float32Array(count);
  const rng = oracleStream(c.seed, 'weight', network, shape.index);
  switch (rule.draw) {
    case 'normal':
      for (let i = 0; i < count; i++) w[i] = rule.std * rng.normal();
      break;
    case 'truncated': {
      const extra = oracleStream(c.seed, 'weight-extra', network, shape.index);
      const sigma = rule.std / TRUNCATED_STD;
      for (let i = 0; i < count; i++) {
        let z = rng.normal();
        while (z < -2 || z > 2) z = extra.normal();
        w[i] = sigma * z;
      }
      break;
    }
    case 'uniform':
      for (let i = 0; i < count; i++) w[i] = rule.bound * (2 * rng.uniform() - 1);
      break;
    case 'orthogonal': {
      const z = new Float64Array(count);
      for (let i = 0; i < count; i++) z[i] = rng.normal();
      const q = orthonormalize(z, out, shape.fanIn);
      for (let i = 0; i < count; i++) w[i] = c.scale * q[i];
      break;
    }
  }
  return w;
}
