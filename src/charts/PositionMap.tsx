/**
 * The pre-activation variance of a conv layer at each output position, measured beside the theory,
 * as two heatmaps on one colour scale. Zero padding gives the border outputs fewer real inputs, so a
 * He-initialized CNN is quieter at its edges than in its middle; this map shows by how much.
 */
import { memo, useId, useMemo } from 'react';
import { interpolateViridis, scaleLinear, scaleSequential } from 'd3';
import type { LayerResult } from '../engine/simulate';
import { formatValue, toNumber } from './numbers';
import { COLORS, FONT } from './theme';
import { fittingTicks } from './ticks';

/** Props of the position map of one conv layer. */
export interface PositionMapProps {
  /** The layer to show; `undefined` while it is being computed. */
  layer: LayerResult | undefined;
  /** Run name for the caption, e.g. "A". */
  label?: string;
  /** Width of both maps and the legend in px (default 560). */
  width?: number;
  /** Height of a map in px (default 220). */
  height?: number;
  /** What the map says without a layer: 'computing…' (the default) while its run goes on. */
  pending?: string;
}

/** Maps larger than this many positions per side are shown in blocks of averaged positions (the DOM stays small). */
export const MAX_MAP_SIDE = 64;

const LEGEND_HEIGHT = 44;
const MAP_GAP = 24;
const TITLE = 16;
const NO_VALUE = '#d9d9d9';

interface Grid {
  rows: number;
  cols: number;
  /** Positions per block side. */
  block: number;
  /** Mean of the finite values of each block, row-major; NaN when none. */
  values: number[];
}

/** H x W values (row-major) in blocks of `block` x `block` positions. */
function blocks(values: ArrayLike<number | null>, h: number, w: number, block: number): Grid {
  const rows = Math.ceil(h / block);
  const cols = Math.ceil(w / block);
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      let n = 0;
      for (let i = r * block; i < Math.min(h, (r + 1) * block); i++) {
        for (let j = c * block; j < Math.min(w, (c + 1) * block); j++) {
          const v = toNumber(values[i * w + j]);
          if (Number.isFinite(v)) {
            sum += v;
            n++;
          }
        }
      }
      out.push(n ? sum / n : NaN);
    }
  }
  return { rows, cols, block, values: out };
}

/** Mean of the border positions over the mean of the interior ones (rows and columns 1 .. n-2); NaN without an interior. */
function borderRatio(values: ArrayLike<number | null>, h: number, w: number): number {
  if (h < 3 || w < 3) return NaN;
  let border = 0;
  let nb = 0;
  let inner = 0;
  let ni = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const v = toNumber(values[i * w + j]);
      if (!Number.isFinite(v)) continue;
      if (i === 0 || j === 0 || i === h - 1 || j === w - 1) {
        border += v;
        nb++;
      } else {
        inner += v;
        ni++;
      }
    }
  }
  return nb && ni && inner > 0 ? border / nb / (inner / ni) : NaN;
}

/** The corner (0, 0) over the centre position. */
function cornerRatio(values: ArrayLike<number | null>, h: number, w: number): number {
  const corner = toNumber(values[0]);
  const centre = toNumber(values[Math.floor(h / 2) * w + Math.floor(w / 2)]);
  return Number.isFinite(corner) && centre > 0 && Number.isFinite(centre) ? corner / centre : NaN;
}

interface HeatmapProps {
  title: string;
  grid: Grid;
  /** The domain of the colour scale both maps share. */
  lo: number;
  hi: number;
  x: number;
  size: number;
}

function HeatmapView({ title, grid, lo, hi, x, size }: HeatmapProps) {
  const color = scaleSequential(interpolateViridis).domain([lo, hi]).clamp(true);
  const cell = size / Math.max(grid.rows, grid.cols);
  const position = (r: number, c: number) =>
    grid.block === 1
      ? `row ${r + 1}, column ${c + 1}`
      : `rows ${r * grid.block + 1}-${(r + 1) * grid.block}, columns ${c * grid.block + 1}-${(c + 1) * grid.block} (mean)`;
  return (
    <g transform={`translate(${x} 0)`}>
      <text x={0} y={12} fontSize={FONT.normal} fill={COLORS.text}>
        {title}
      </text>
      <g transform={`translate(0 ${TITLE})`}>
        {grid.values.map((v, k) => {
          const r = Math.floor(k / grid.cols);
          const c = k % grid.cols;
          const finite = Number.isFinite(v);
          return (
            <rect
              key={k}
              x={c * cell}
              y={r * cell}
              width={cell + 0.02}
              height={cell + 0.02}
              fill={finite ? color(v) : NO_VALUE}
            >
              <title>{`${title}, ${position(r, c)}: Var[y] = ${finite ? formatValue(v) : 'not finite'}`}</title>
            </rect>
          );
        })}
        <rect x={0} y={0} width={grid.cols * cell} height={grid.rows * cell} fill="none" stroke={COLORS.frame} />
      </g>
    </g>
  );
}

const Heatmap = memo(HeatmapView);

interface Model {
  h: number;
  w: number;
  block: number;
  gridM: Grid;
  gridT: Grid;
  lo: number;
  hi: number;
  anyValue: boolean;
  measuredCount: number;
  measuredOk: boolean;
  theoryOk: boolean;
  ratioM: number;
  ratioT: number;
  cornerM: number;
  cornerT: number;
}

function modelOf(layer: LayerResult): Model | null {
  const shape = layer.positionShape;
  const measured = layer.positionVariance;
  const theory = layer.theory?.positionVariance;
  if (!shape || !measured) return null;
  const [h, w] = shape;
  const size = h * w;
  const measuredOk = measured.length === size;
  const theoryOk = !!theory && theory.length === size;
  const block = Math.max(1, Math.ceil(Math.max(h, w) / MAX_MAP_SIDE));
  const empty: number[] = new Array(size).fill(NaN);
  const gridM = blocks(measuredOk ? measured : empty, h, w, block);
  const gridT = blocks(theoryOk ? theory! : empty, h, w, block);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of [...gridM.values, ...gridT.values]) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const anyValue = hi >= lo;
  if (!anyValue) {
    lo = 0;
    hi = 1;
  } else if (!(hi > lo)) {
    const half = Math.abs(lo) * 1e-3 || 0.5;
    lo -= half;
    hi += half;
  }
  return {
    h,
    w,
    block,
    gridM,
    gridT,
    lo,
    hi,
    anyValue,
    measuredCount: measured.length,
    measuredOk,
    theoryOk,
    ratioM: measuredOk ? borderRatio(measured, h, w) : NaN,
    ratioT: theoryOk ? borderRatio(theory!, h, w) : NaN,
    cornerM: measuredOk ? cornerRatio(measured, h, w) : NaN,
    cornerT: theoryOk ? cornerRatio(theory!, h, w) : NaN,
  };
}

/** Measured and theoretical Var[y] per output position of a conv layer, side by side on one viridis colour scale. */
export function PositionMap({ layer, label, width = 560, height = 220, pending = 'computing…' }: PositionMapProps) {
  const gradientId = `viridis-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const model = useMemo(() => (layer ? modelOf(layer) : null), [layer]);
  const run = label ? `${label}, ` : '';
  if (!layer) {
    return (
      <figure style={{ margin: 0, fontFamily: FONT.family, fontSize: FONT.normal }}>
        <figcaption>{`${run}variance by position: ${pending}`}</figcaption>
      </figure>
    );
  }
  if (!model) {
    return (
      <figure style={{ margin: 0, fontFamily: FONT.family, fontSize: FONT.normal }}>
        <figcaption>{`${run}layer ${layer.index} is ${layer.kind === 'dense' ? 'a dense layer' : 'missing its position map'}: it has no spatial positions to map.`}</figcaption>
      </figure>
    );
  }
  const { h, w, block, gridM, gridT, lo, hi, anyValue, measuredOk, theoryOk, ratioM, ratioT, cornerM, cornerT } = model;

  const mapSize = Math.max(40, Math.min(height, (width - MAP_GAP) / 2));
  const legendWidth = Math.min(width, 2 * mapSize + MAP_GAP);
  const legendX = scaleLinear().domain([lo, hi]).range([8, legendWidth - 8]);
  const legendTicks = anyValue ? fittingTicks(legendX, 8, legendWidth - 8, 5) : [];
  const svgHeight = TITLE + mapSize + LEGEND_HEIGHT;
  const legendTop = TITLE + mapSize + 8;

  const times = (m: number, t: number, what: string) =>
    `${Number.isFinite(m) ? `${formatValue(m, 3)} times` : 'n/a of'} ${what} (theory ${Number.isFinite(t) ? formatValue(t, 3) : 'n/a'})`;
  const border =
    Number.isFinite(ratioM) || Number.isFinite(ratioT)
      ? ` Zero padding gives the border outputs fewer real inputs: the border averages ${times(ratioM, ratioT, "the interior's variance")}, and the corner has ${times(cornerM, cornerT, "the centre's")}.`
      : ' The map is too small for an interior, so there is no border effect to compare.';
  const missing = [
    measuredOk ? '' : ` The measured map has ${model.measuredCount} values, not ${h} x ${w}.`,
    theoryOk ? '' : ' The theory has no position map for this layer.',
    block > 1 ? ` Each cell is the mean of ${block} x ${block} positions.` : '',
  ].join('');
  const summary = `${run}layer ${layer.index}: pre-activation variance Var[y] at each of the ${h} x ${w} output positions, measured (left) and theory (right), ${
    anyValue ? `one colour scale from ${formatValue(lo)} to ${formatValue(hi)}` : 'no finite value to colour'
  }.`;

  const stops = Array.from({ length: 11 }, (_, i) => i / 10);
  return (
    <figure style={{ margin: 0, fontFamily: FONT.family, fontSize: FONT.normal, color: COLORS.text }}>
      <svg width={legendWidth} height={svgHeight} viewBox={`0 0 ${legendWidth} ${svgHeight}`} role="img" aria-label={summary} style={{ display: 'block', overflow: 'hidden', fontFamily: FONT.family }}>
        <defs>
          <linearGradient id={gradientId} x1="0" x2="1" y1="0" y2="0">
            {stops.map((t) => (
              <stop key={t} offset={t} stopColor={interpolateViridis(t)} />
            ))}
          </linearGradient>
        </defs>
        <Heatmap title="measured" grid={gridM} lo={lo} hi={hi} x={0} size={mapSize} />
        <Heatmap title="theory" grid={gridT} lo={lo} hi={hi} x={mapSize + MAP_GAP} size={mapSize} />
        <g transform={`translate(0 ${legendTop})`}>
          <rect x={8} y={0} width={legendWidth - 16} height={10} fill={anyValue ? `url(#${gradientId})` : NO_VALUE} stroke={COLORS.frame} />
          {legendTicks.map((t) => (
            <g key={t.value}>
              <line x1={t.x} x2={t.x} y1={10} y2={14} stroke={COLORS.frame} />
              <text x={t.x} y={26} fontSize={FONT.small} textAnchor={t.anchor} fill={COLORS.muted}>
                {t.label}
              </text>
            </g>
          ))}
          <text x={legendWidth - 8} y={LEGEND_HEIGHT - 8} fontSize={FONT.small} textAnchor="end" fill={COLORS.muted}>
            Var[y]
          </text>
        </g>
      </svg>
      <figcaption style={{ maxWidth: legendWidth }}>
        {summary}
        {border}
        {missing}
      </figcaption>
    </figure>
  );
}
