/**
 * Seeded random streams. There is no global generator: every stream is derived from
 * (seed, purpose, network, layer), so changing layer 5 leaves the draws of layers 1 to 4 alone, and
 * two configurations with one seed (A and B of a comparison) draw the same underlying numbers.
 */
import seedrandom from 'seedrandom';
import { log } from './detmath';

/** What a stream is drawn for. `weight-extra` feeds redraws (truncated normal) without shifting `weight`. */
export type Purpose = 'weight' | 'weight-extra' | 'bias' | 'input' | 'gradient';

/** A deterministic stream of uniform and standard normal numbers. */
export class Stream {
  private readonly next: () => number;
  private spare = 0;
  private hasSpare = false;

  constructor(key: string) {
    // Alea: fast, passes BigCrush, and its seeding and arithmetic are exact in IEEE doubles, so every
    // JavaScript engine produces the same sequence.
    this.next = seedrandom.alea(key);
  }

  /** Uniform on [0, 1) with 32 random bits. */
  uniform(): number {
    return this.next();
  }

  /** Standard normal N(0, 1) by Marsaglia's polar method (only log and sqrt, both deterministic here). */
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

/** The stream of one purpose, network (0-based) and layer (1-based; 0 for the input and the top gradient). */
export function stream(seed: string, purpose: Purpose, network: number, layer: number): Stream {
  return new Stream(JSON.stringify(['initscope/1', seed, purpose, network, layer]));
}
