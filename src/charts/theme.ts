/**
 * Colours and type of every chart. A and B use the Okabe-Ito palette (safe under the common colour
 * vision deficiencies) and also differ in shape, so no reader has to tell them apart by colour alone.
 */

/** Okabe-Ito blue for run A, vermillion for run B, and the text and grid greys. */
export const COLORS = {
  a: '#0072B2',
  b: '#D55E00',
  text: '#222222',
  muted: '#555555',
  grid: '#dddddd',
  frame: '#999999',
  flag: '#8a1c00',
  focus: '#000000',
  missing: '#bbbbbb',
} as const;

/** Font sizes in px: nothing smaller than 11 px, so a projected 1280x720 screen stays readable. */
export const FONT = { small: 11, normal: 12, family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' } as const;
