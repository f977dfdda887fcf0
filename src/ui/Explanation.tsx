/** The live explanation line: what each layer does to the variance, with this configuration's numbers (He et al. eq. 8-10). */
import { formatNumber } from '../engine/report';
import type { RunConfig } from '../engine/schema';
import type { TheoryLayer } from '../engine/theory';
import { weightRule } from '../engine/initializers';
import { layerShapes } from '../engine/schema';

/** The factor of the activation in Var[y_l] = factor x fan_in x Var[w] x Var[y_(l-1)], where it is a constant. */
export function activationFactor(c: RunConfig): { factor: number; text: string } | null {
  if (c.bias !== 0 || c.biasStd !== 0 || c.biasInit !== 'normal') return null;
  if (c.act === 'relu') return { factor: 0.5, text: '1/2' };
  if (c.act === 'leaky_relu') return { factor: (1 + c.slope * c.slope) / 2, text: `(1+${c.slope}^2)/2` };
  if (c.act === 'linear') return { factor: 1, text: '1' };
  return null;
}

/** One sentence per side using the live numbers. */
export function explanation(c: RunConfig, theory: TheoryLayer[]): string {
  const shapes = layerShapes(c);
  if (shapes.length < 2 || theory.length !== shapes.length) return '';
  const last = shapes.length;
  const ratio = theory[last - 1].preVariance / theory[0].preVariance;
  const logRatio = theory[last - 1].logPreVariance - theory[0].logPreVariance;
  const after = Number.isFinite(ratio) && ratio > 0 ? formatNumber(ratio, 3) : `10^${logRatio.toFixed(1)}`;
  const f = activationFactor(c);
  const s = shapes[1];
  const varW = weightRule(c, s).std ** 2;
  if (f && shapes.every((x) => x.fanIn === s.fanIn || x.index === 1)) {
    const per = f.factor * s.fanIn * varW;
    return `each layer multiplies the variance by ${f.text} x ${s.fanIn} x Var[w] = ${formatNumber(per, 3)}; after ${last} layers it is ${after} of layer 1`;
  }
  return `in theory, layer ${last} has ${after} of layer 1's pre-activation variance`;
}
