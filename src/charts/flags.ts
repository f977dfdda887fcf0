/**
 * Per-layer warnings: the ways a signal goes wrong in a deep network, each tested against a documented
 * threshold on the measured statistics. The theory, when given, only adds its prediction to the
 * explanation; a flag is always about what was measured.
 */
import type { Activation } from '../engine/schema';
import type { LayerResult } from '../engine/simulate';
import type { TheoryLayer } from '../engine/theory';
import { formatNumber } from '../engine/report';
import { formatPercent, formatValue, toNumber } from './numbers';

/** The kinds of warning a layer can carry. */
export type FlagId = 'vanished' | 'exploded' | 'dead' | 'saturated' | 'nonfinite';

/** One warning: a short label for the chart and a sentence (for a tooltip) saying what was measured and why it matters. */
export interface Flag {
  id: FlagId;
  label: string;
  title: string;
}

/** Var[y] below this has vanished, whatever the first layer did (inputs have E[x^2] = 1). */
export const VANISHED_VARIANCE = 1e-8;
/** Var[y] below this fraction of the first layer's Var[y] has vanished: four orders of magnitude lost on the way up. */
export const VANISHED_RATIO = 1e-4;
/** Var[y] above this has exploded (inputs have E[x^2] = 1). */
export const EXPLODED_VARIANCE = 1e4;
/** A ReLU-family layer with more than this fraction of post-activations exactly 0 has dead units (a symmetric pre-activation gives 0.5). */
export const DEAD_ZERO_FRACTION = 0.6;
/** A layer with more than this fraction of post-activations near an asymptote (tanh, sigmoid) is saturated. */
export const SATURATED_FRACTION = 0.2;
/** Activations whose outputs are exactly 0 for a negative input, so that the zero fraction measures dead units. */
export const ZERO_OUTPUT_ACTIVATIONS: readonly Activation[] = ['relu', 'leaky_relu'];

/**
 * The warnings of one measured layer. `firstVariance` is the first layer's measured Var[y], the
 * reference of the relative vanishing rule; without it only the absolute rule applies.
 *
 * - vanished: Var[y] < VANISHED_VARIANCE, or Var[y] < VANISHED_RATIO * firstVariance (Var[y] = 0 included);
 * - exploded: Var[y] > EXPLODED_VARIANCE, or any pre- or post-activation is Inf or NaN;
 * - dead: relu/leaky_relu with post zero fraction > DEAD_ZERO_FRACTION;
 * - saturated: post saturated fraction > SATURATED_FRACTION;
 * - nonfinite: any pre- or post-activation is Inf or NaN.
 */
export function layerFlags(layer: LayerResult, act: Activation, theory?: TheoryLayer, firstVariance?: number): Flag[] {
  const flags: Flag[] = [];
  const variance = toNumber(layer.pre?.variance);
  const reference = toNumber(firstVariance);
  const predicted = theory ? toNumber(theory.preVariance) : NaN;
  const theoryNote = Number.isNaN(predicted) ? '' : ` The mean-field theory predicts ${formatNumber(predicted)}.`;
  const preNonFinite = Math.max(0, toNumber(layer.pre?.nonFinite) || 0);
  const postNonFinite = Math.max(0, toNumber(layer.post?.nonFinite) || 0);
  const nonFinite = preNonFinite + postNonFinite;
  const nonFiniteText = `${preNonFinite} pre-activation and ${postNonFinite} post-activation values are non-finite (infinite or not a number)`;
  const layerName = `Layer ${layer.index}`;

  const relativeLimit = reference > 0 && Number.isFinite(reference) ? VANISHED_RATIO * reference : NaN;
  if (variance < VANISHED_VARIANCE || variance < relativeLimit) {
    const why =
      variance < VANISHED_VARIANCE
        ? `below ${formatNumber(VANISHED_VARIANCE, 3)}`
        : `below ${formatNumber(VANISHED_RATIO, 3)} of the first layer's ${formatNumber(reference)}`;
    flags.push({
      id: 'vanished',
      label: 'vanished',
      title: `${layerName}: the pre-activation variance ${formatValue(variance)} is ${why}; the signal has all but vanished.${theoryNote}`,
    });
  }
  if (variance > EXPLODED_VARIANCE || nonFinite > 0) {
    const why =
      variance > EXPLODED_VARIANCE
        ? `the pre-activation variance ${formatNumber(variance)} is above ${formatNumber(EXPLODED_VARIANCE, 3)}`
        : nonFiniteText;
    flags.push({ id: 'exploded', label: 'exploded', title: `${layerName}: ${why}; the signal has exploded.${theoryNote}` });
  }
  const zeros = toNumber(layer.post?.zeroFraction);
  if (ZERO_OUTPUT_ACTIVATIONS.includes(act) && zeros > DEAD_ZERO_FRACTION) {
    // For relu E[phi'(y)^2] = P(y > 0), so the theory's expected zero fraction is 1 - derivativeMeanSquare.
    const expected = theory && act === 'relu' ? 1 - toNumber(theory.derivativeMeanSquare) : NaN;
    const expectation = Number.isNaN(expected)
      ? 'a symmetric pre-activation gives 50%'
      : `a symmetric pre-activation gives 50%, the theory expects ${formatPercent(expected)} here`;
    flags.push({
      id: 'dead',
      label: 'dead',
      title: `${layerName}: ${formatPercent(zeros)} of the ${act} outputs are exactly 0, more than ${formatPercent(DEAD_ZERO_FRACTION)} (${expectation}); those units pass no signal and no gradient.`,
    });
  }
  const saturated = toNumber(layer.post?.saturatedFraction);
  if (saturated > SATURATED_FRACTION) {
    flags.push({
      id: 'saturated',
      label: 'saturated',
      title: `${layerName}: ${formatPercent(saturated)} of the ${act} outputs sit near an asymptote (more than ${formatPercent(SATURATED_FRACTION)}), where the derivative is almost 0 and gradients fade.`,
    });
  }
  if (nonFinite > 0) {
    flags.push({
      id: 'nonfinite',
      label: 'non-finite',
      title: `${layerName}: ${nonFiniteText}; they are left out of every other statistic.`,
    });
  }
  return flags;
}
