/**
 * Variance by depth: the measured pre-activation variance and the gradient mean square of every layer
 * beside the mean-field theory, on log scales, in two panels that share one x scale. Values a log
 * axis cannot hold (0, Inf, NaN) are pinned to strips at the axis edges with their own marker.
 */
import { useFocus } from './useFocus';
import { memo, useCallback, useId, useMemo, useRef, type KeyboardEvent } from 'react';
import { area, line, scaleLinear, scaleLog, ticks as linearTicks } from 'd3';
import type { LayerResult } from '../engine/simulate';
import type { TheoryLayer } from '../engine/theory';
import { formatPowerOfTen, formatValue, logPlace, toNumber, type LogPlace } from './numbers';
import { COLORS, FONT } from './theme';
import { tickLabel } from './ticks';

/** Props of the variance-by-depth chart. Layer positions (`focused`, `onFocus`) are 0-based indices into `a`. */
export interface VarianceChartProps {
  /** Run A, one entry per layer; `undefined` for a layer not computed yet. */
  a: (LayerResult | undefined)[];
  /** Run B in a comparison, else absent. */
  b?: (LayerResult | undefined)[];
  /** The theory of every layer of A, known before any layer is computed. */
  theoryA: TheoryLayer[];
  theoryB?: TheoryLayer[];
  /** Draw the theory lines (and let them into the y domain). */
  showTheory: boolean;
  /** The layer another view points at, or null; absent to let the chart track its own hover. */
  focused?: number | null;
  onFocus?(index: number | null): void;
  labelA?: string;
  labelB?: string;
  /** Width of both panels together in px (default 1240). */
  width?: number;
  /** Height of a panel in px (default 300). */
  height?: number;
}

interface Band {
  lo: number;
  hi: number;
}

interface Series {
  key: 'a' | 'b';
  label: string;
  /** Per layer: undefined until measured, else the value (possibly 0, Inf or NaN). */
  measured: (number | undefined)[];
  theory: LogPlace[];
  /** Theory values as text (a value beyond float64 is written as a power of ten), per layer the theory covers. */
  theoryText: (string | undefined)[];
  /** log10 of the p10..p90 spread over networks, per layer, or null. */
  spread: (Band | null)[];
}

interface PanelSpec {
  id: 'variance' | 'gradient';
  /** The quantity in words for tooltips. */
  quantity: string;
  yLabel: string;
  series: Series[];
}

const MARGIN = { left: 64, right: 12, top: 8, bottom: 36 };
const STRIP = 14;
const STRIP_GAP = 5;
const PANEL_GAP = 16;

/**
 * The place of a theory value on the log axis: the value if it is a positive float64, else its log10
 * (the theory's `log...` field, computed beyond float64's range), else the edge the value is pinned to.
 */
function theoryPlace(value: number | null | undefined, log10: number | null | undefined): LogPlace {
  const direct = logPlace(value);
  if (direct.kind === 'log') return direct;
  const lp = toNumber(log10);
  if (Number.isFinite(lp)) return { kind: 'log', log: lp };
  if (lp === -Infinity || toNumber(value) === 0) return { kind: 'zero' };
  return { kind: 'inf' };
}

function placeText(place: LogPlace, value: number): string {
  if (place.kind === 'zero') return value < 0 ? formatValue(value) : '0';
  if (place.kind === 'inf') return value === Infinity ? 'inf' : 'not finite';
  return Number.isFinite(value) && value > 0 ? formatValue(value) : formatPowerOfTen(place.log);
}

interface Tick {
  log: number;
  label: string;
}

function powerLabel(k: number): string {
  if (k >= 0 && k <= 3) return String(10 ** k);
  if (k < 0 && k >= -3) return (10 ** k).toFixed(-k);
  return `1e${k}`;
}

/** Ticks of a log10 domain: powers of ten when it spans decades, else 1-2-5 or linear values. */
function yTicks(lo: number, hi: number): Tick[] {
  const step = Math.max(1, Math.ceil((hi - lo) / 8));
  const powers: Tick[] = [];
  for (let k = Math.ceil(lo / step) * step; k <= hi; k += step) powers.push({ log: k, label: powerLabel(k) });
  if (powers.length >= 3) return powers;
  const vlo = 10 ** lo;
  const vhi = 10 ** hi;
  if (vlo > 0 && Number.isFinite(vhi)) {
    let values = scaleLog().domain([vlo, vhi]).ticks(6);
    if (values.length > 5) {
      values = values.filter((v) => {
        const m = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
        return m === 1 || m === 2 || m === 5;
      });
    }
    if (values.length < 2) values = linearTicks(vlo, vhi, 4).filter((v) => v > 0);
    if (values.length >= 2) return values.map((v) => ({ log: Math.log10(v), label: tickLabel(v) }));
  }
  return powers.length ? powers : [{ log: (lo + hi) / 2, label: placeText({ kind: 'log', log: (lo + hi) / 2 }, 10 ** ((lo + hi) / 2)) }];
}

function edgeMarker(shape: 'up' | 'down', cx: number, cy: number, s: number): string {
  return shape === 'up'
    ? `M${cx},${cy - s} L${cx + s},${cy + s * 0.8} L${cx - s},${cy + s * 0.8} Z`
    : `M${cx},${cy + s} L${cx + s},${cy - s * 0.8} L${cx - s},${cy - s * 0.8} Z`;
}

interface PanelProps {
  spec: PanelSpec;
  depth: number;
  width: number;
  height: number;
  showTheory: boolean;
  comparing: boolean;
  active: number | null;
  onActivate(position: number | null): void;
}

type Scale = (value: number) => number;

/** Where a panel's parts sit, in px. */
interface Layout {
  width: number;
  height: number;
  left: number;
  right: number;
  topStrip: number;
  plotTop: number;
  plotBottom: number;
  bottomStrip: number;
}

interface FrameProps {
  layout: Layout;
  x: Scale;
  y: Scale;
  yTickList: Tick[];
  xTickList: number[];
  usesTop: boolean;
  usesBottom: boolean;
  yLabel: string;
  clipId: string;
}

/** The plot area, grid lines, edge strips, ticks and axis titles: what does not change as layers arrive. */
const Frame = memo(function Frame({ layout, x, y, yTickList, xTickList, usesTop, usesBottom, yLabel, clipId }: FrameProps) {
  const { height, left, right, topStrip, plotTop, plotBottom, bottomStrip } = layout;
  return (
    <>
      <defs>
        <clipPath id={clipId}>
          <rect x={left} y={plotTop - 1} width={right - left} height={plotBottom - plotTop + 2} />
        </clipPath>
      </defs>
      <rect x={left} y={plotTop} width={right - left} height={plotBottom - plotTop} fill="#ffffff" stroke={COLORS.frame} />
      {yTickList.map((t) => (
        <g key={t.log}>
          <line x1={left} x2={right} y1={y(t.log)} y2={y(t.log)} stroke={COLORS.grid} />
          <text x={left - 5} y={y(t.log) + 4} textAnchor="end" fontSize={FONT.small} fill={COLORS.muted}>
            {t.label}
          </text>
        </g>
      ))}
      {usesTop && (
        <g>
          <line x1={left} x2={right} y1={topStrip} y2={topStrip} stroke={COLORS.frame} strokeDasharray="2 3" />
          <text x={left - 5} y={topStrip + 4} textAnchor="end" fontSize={FONT.small} fill={COLORS.text}>
            inf
          </text>
        </g>
      )}
      {usesBottom && (
        <g>
          <line x1={left} x2={right} y1={bottomStrip} y2={bottomStrip} stroke={COLORS.frame} strokeDasharray="2 3" />
          <text x={left - 5} y={bottomStrip + 4} textAnchor="end" fontSize={FONT.small} fill={COLORS.text}>
            0
          </text>
        </g>
      )}
      {xTickList.map((t) => (
        <g key={t}>
          <line x1={x(t)} x2={x(t)} y1={height - MARGIN.bottom} y2={height - MARGIN.bottom + 4} stroke={COLORS.frame} />
          <text x={x(t)} y={height - MARGIN.bottom + 15} textAnchor="middle" fontSize={FONT.small} fill={COLORS.muted}>
            {t}
          </text>
        </g>
      ))}
      <text x={(left + right) / 2} y={height - 4} textAnchor="middle" fontSize={FONT.normal} fill={COLORS.text}>
        layer
      </text>
      <text
        transform={`translate(14 ${(plotTop + plotBottom) / 2}) rotate(-90)`}
        textAnchor="middle"
        fontSize={FONT.normal}
        fill={COLORS.text}
      >
        {yLabel}
      </text>
    </>
  );
});

interface SeriesPartProps {
  seriesKey: 'a' | 'b';
  label: string;
  quantity: string;
  x: Scale;
  y: Scale;
}

/** The 10th to 90th percentile band of one series, or nothing. */
const SpreadBand = memo(function SpreadBand({ seriesKey, label, quantity, x, y, spread }: SeriesPartProps & { spread: (Band | null)[] }) {
  const points = spread.map((b, i): [number, Band | null] => [i + 1, b]);
  if (!points.some((p) => p[1] !== null)) return null;
  const band = area<[number, Band | null]>()
    .defined((d) => d[1] !== null)
    .x((d) => x(d[0]))
    .y0((d) => y(d[1]!.lo))
    .y1((d) => y(d[1]!.hi));
  return (
    <path d={band(points) ?? ''} fill={COLORS[seriesKey]} fillOpacity={0.16} stroke="none">
      <title>{`${label}: 10th to 90th percentile of ${quantity} over the networks`}</title>
    </path>
  );
});

/** The theory line of one series through the layers whose theory is on the log axis. */
const TheoryLine = memo(function TheoryLine({ seriesKey, label, quantity, x, y, theory }: SeriesPartProps & { theory: LogPlace[] }) {
  const theoryLine = line<[number, number]>()
    .defined((d) => Number.isFinite(d[1]))
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  return (
    <path
      d={theoryLine(theory.map((p, i): [number, number] => [i + 1, p.kind === 'log' ? p.log : NaN])) ?? ''}
      fill="none"
      stroke={COLORS[seriesKey]}
      strokeWidth={1.75}
      strokeDasharray={seriesKey === 'b' ? '6 3' : undefined}
    >
      <title>{`${label}: mean-field theory of ${quantity}`}</title>
    </path>
  );
});

/** Marks at the top or bottom strip for the layers whose theory is 0 or not finite. */
const TheoryEdges = memo(function TheoryEdges({
  seriesKey,
  label,
  quantity,
  x,
  theory,
  theoryText,
  topStrip,
  bottomStrip,
}: Omit<SeriesPartProps, 'y'> & { theory: LogPlace[]; theoryText: (string | undefined)[]; topStrip: number; bottomStrip: number }) {
  return (
    <>
      {theory.map((p, i) =>
        p.kind === 'log' ? null : (
          <line
            key={`theory-edge-${seriesKey}-${i}`}
            x1={x(i + 1) - 5}
            x2={x(i + 1) + 5}
            y1={p.kind === 'zero' ? bottomStrip : topStrip}
            y2={p.kind === 'zero' ? bottomStrip : topStrip}
            stroke={COLORS[seriesKey]}
            strokeWidth={2}
            strokeDasharray={seriesKey === 'b' ? '3 2' : undefined}
          >
            <title>{`${label}, layer ${i + 1}: theory ${quantity} = ${theoryText[i]}, marked at the ${p.kind === 'zero' ? 'bottom' : 'top'} edge`}</title>
          </line>
        ),
      )}
    </>
  );
});

interface ColumnProps {
  position: number;
  label: string;
  focusable: boolean;
  x0: number;
  x1: number;
  top: number;
  height: number;
  onActivate(position: number | null): void;
  onKey(e: KeyboardEvent<SVGRectElement>, position: number): void;
}

/** The invisible hit area of one layer: hover and keyboard focus, and the layer's numbers for screen readers. */
const Column = memo(function Column({ position, label, focusable, x0, x1, top, height, onActivate, onKey }: ColumnProps) {
  return (
    <rect
      data-layer={position}
      role="img"
      aria-label={label}
      tabIndex={focusable ? 0 : -1}
      x={x0}
      y={top}
      width={Math.max(0, x1 - x0)}
      height={height}
      fill="#ffffff"
      fillOpacity={0}
      style={{ outline: 'none' }}
      onMouseEnter={() => onActivate(position)}
      onFocus={() => onActivate(position)}
      onKeyDown={(e) => onKey(e, position)}
    >
      <title>{label}</title>
    </rect>
  );
});

interface PointProps {
  seriesKey: 'a' | 'b';
  label: string;
  quantity: string;
  position: number;
  value: number;
  theoryText: string | undefined;
  x: Scale;
  y: Scale;
  topStrip: number;
  bottomStrip: number;
}

/** One measured value: a circle (A) or square (B) on the log axis, or a triangle at the edge for 0 and non-finite values. */
const Point = memo(function Point({ seriesKey, label, quantity, position, value, theoryText, x, y, topStrip, bottomStrip }: PointProps) {
  const place = logPlace(value);
  const cx = x(position + 1);
  const theory = theoryText !== undefined ? ` (theory ${theoryText})` : '';
  const color = COLORS[seriesKey];
  if (place.kind !== 'log') {
    const edge = place.kind === 'zero' ? 'bottom' : 'top';
    const why = place.kind === 'zero' ? 'no log axis holds 0' : 'no axis holds it';
    return (
      <path
        d={edgeMarker(place.kind === 'zero' ? 'down' : 'up', cx, place.kind === 'zero' ? bottomStrip : topStrip, 4.5)}
        fill={seriesKey === 'a' ? color : '#ffffff'}
        stroke={color}
        strokeWidth={1.5}
      >
        <title>{`${label}, layer ${position + 1}: ${quantity} = ${placeText(place, value)}${theory}; marked at the ${edge} edge, as ${why}`}</title>
      </path>
    );
  }
  const cy = y(place.log);
  const title = <title>{`${label}, layer ${position + 1}: ${quantity} = ${formatValue(value)}${theory}`}</title>;
  return seriesKey === 'a' ? (
    <circle cx={cx} cy={cy} r={3.5} fill={color} stroke="#ffffff" strokeWidth={0.75}>
      {title}
    </circle>
  ) : (
    <rect x={cx - 3.5} y={cy - 3.5} width={7} height={7} fill="#ffffff" fillOpacity={0.6} stroke={color} strokeWidth={1.5}>
      {title}
    </rect>
  );
});

function PanelView({ spec, depth, width, height, showTheory, comparing, active, onActivate }: PanelProps) {
  const clipId = `clip-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const topStrip = MARGIN.top + STRIP / 2;
  const plotTop = MARGIN.top + STRIP + STRIP_GAP;
  const plotBottom = height - MARGIN.bottom - STRIP - STRIP_GAP;
  const bottomStrip = height - MARGIN.bottom - STRIP / 2;
  const layout = useMemo(
    (): Layout => ({ width, height, left, right, topStrip, plotTop, plotBottom, bottomStrip }),
    [width, height, left, right, topStrip, plotTop, plotBottom, bottomStrip],
  );

  const x = useMemo(
    () =>
      scaleLinear()
        .domain([0.5, Math.max(1, depth) + 0.5])
        .range([left, right]),
    [depth, left, right],
  );

  const [lo, hi] = useMemo(() => {
    let min = Infinity;
    let max = -Infinity;
    const add = (v: number) => {
      if (!Number.isFinite(v)) return;
      if (v < min) min = v;
      if (v > max) max = v;
    };
    for (const s of spec.series) {
      for (const v of s.measured) {
        const p = logPlace(v);
        if (v !== undefined && p.kind === 'log') add(p.log);
      }
      if (showTheory) for (const p of s.theory) if (p.kind === 'log') add(p.log);
      for (const band of s.spread) {
        if (!band) continue;
        add(band.lo);
        add(band.hi);
      }
    }
    if (!(max >= min)) return [-1, 1];
    const pad = Math.max(0.05 * (max - min), 0.1);
    return [min - pad, max + pad];
  }, [spec, showTheory]);
  const y = useMemo(() => scaleLinear().domain([lo, hi]).range([plotBottom, plotTop]), [lo, hi, plotBottom, plotTop]);
  const yTickList = useMemo(() => yTicks(lo, hi), [lo, hi]);
  const xTickList = useMemo(() => x.ticks(Math.min(depth, 10)).filter((t) => Number.isInteger(t) && t >= 1 && t <= depth), [x, depth]);

  const usesTop = spec.series.some(
    (s) => s.measured.some((v) => v !== undefined && logPlace(v).kind === 'inf') || (showTheory && s.theory.some((p) => p.kind === 'inf')),
  );
  const usesBottom = spec.series.some(
    (s) => s.measured.some((v) => v !== undefined && logPlace(v).kind === 'zero') || (showTheory && s.theory.some((p) => p.kind === 'zero')),
  );

  const onKey = useCallback(
    (e: KeyboardEvent<SVGRectElement>, position: number) => {
      const next =
        e.key === 'ArrowRight' || e.key === 'ArrowUp'
          ? position + 1
          : e.key === 'ArrowLeft' || e.key === 'ArrowDown'
            ? position - 1
            : e.key === 'Home'
              ? 0
              : e.key === 'End'
                ? depth - 1
                : null;
      if (next === null) return;
      e.preventDefault();
      const target = Math.max(0, Math.min(depth - 1, next));
      const el = e.currentTarget.parentNode?.querySelector<SVGRectElement>(`[data-layer="${target}"]`);
      el?.focus();
      onActivate(target);
    },
    [depth, onActivate],
  );
  const roving = active !== null && active >= 0 && active < depth ? active : 0;

  const columnLabel = (i: number) =>
    `Layer ${i + 1}: ${spec.quantity} ${spec.series
      .map((s) => {
        const v = s.measured[i];
        const measured = v === undefined ? 'not computed yet' : placeText(logPlace(v), toNumber(v));
        const theory = s.theoryText[i] !== undefined ? ` (theory ${s.theoryText[i]})` : '';
        return `${comparing ? `${s.label} ` : ''}${measured}${theory}`;
      })
      .join(', ')}`;

  return (
    <svg
      role="group"
      aria-label={`${spec.yLabel} by layer`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      style={{ display: 'block', overflow: 'hidden', fontFamily: FONT.family }}
      onMouseLeave={() => onActivate(null)}
    >
      <Frame layout={layout} x={x} y={y} yTickList={yTickList} xTickList={xTickList} usesTop={usesTop} usesBottom={usesBottom} yLabel={spec.yLabel} clipId={clipId} />
      <g clipPath={`url(#${clipId})`}>
        {spec.series.map((s) => (
          <SpreadBand key={`band-${s.key}`} seriesKey={s.key} label={s.label} quantity={spec.quantity} x={x} y={y} spread={s.spread} />
        ))}
        {showTheory &&
          spec.series.map((s) => <TheoryLine key={`theory-${s.key}`} seriesKey={s.key} label={s.label} quantity={spec.quantity} x={x} y={y} theory={s.theory} />)}
      </g>
      {showTheory &&
        spec.series.map((s) => (
          <TheoryEdges
            key={`theory-edges-${s.key}`}
            seriesKey={s.key}
            label={s.label}
            quantity={spec.quantity}
            x={x}
            theory={s.theory}
            theoryText={s.theoryText}
            topStrip={topStrip}
            bottomStrip={bottomStrip}
          />
        ))}
      {/* Under the points, so a point's own tooltip shows when the pointer is on it. */}
      {Array.from({ length: depth }, (_, i) => (
        <Column
          key={`hit-${i}`}
          position={i}
          label={columnLabel(i)}
          focusable={i === roving}
          x0={x(i + 0.5)}
          x1={x(i + 1.5)}
          top={MARGIN.top}
          height={height - MARGIN.top - MARGIN.bottom}
          onActivate={onActivate}
          onKey={onKey}
        />
      ))}
      {active !== null && active >= 0 && active < depth && (
        <line x1={x(active + 1)} x2={x(active + 1)} y1={MARGIN.top} y2={height - MARGIN.bottom} stroke={COLORS.focus} strokeWidth={1} strokeDasharray="3 2" pointerEvents="none" />
      )}
      {spec.series.map((s) =>
        s.measured.map((v, i) =>
          v === undefined ? null : (
            <Point
              key={`${s.key}-${i}`}
              seriesKey={s.key}
              label={s.label}
              quantity={spec.quantity}
              position={i}
              value={toNumber(v)}
              theoryText={s.theoryText[i]}
              x={x}
              y={y}
              topStrip={topStrip}
              bottomStrip={bottomStrip}
            />
          ),
        ),
      )}
    </svg>
  );
}

function sameBand(a: Band | null, b: Band | null): boolean {
  return a === b || (a !== null && b !== null && a.lo === b.lo && a.hi === b.hi);
}

function samePlace(a: LogPlace, b: LogPlace): boolean {
  return a.kind === b.kind && (a.kind !== 'log' || a.log === (b as { log: number }).log);
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean = Object.is): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
  return true;
}

/**
 * `next`, with every part equal to `previous`'s replaced by `previous`'s own (and `previous` itself
 * when all are equal): the specs are rebuilt whenever a layer arrives, and the memoized panel and
 * its parts then redraw only what changed (a forward layer does not redraw the gradient panel).
 */
function stableSpec(previous: PanelSpec | null, next: PanelSpec): PanelSpec {
  if (!previous || previous.id !== next.id || previous.quantity !== next.quantity || previous.yLabel !== next.yLabel) return next;
  let changed = previous.series.length !== next.series.length;
  const series = next.series.map((s, i) => {
    const p = previous.series[i];
    if (!p || p.key !== s.key || p.label !== s.label) {
      changed = true;
      return s;
    }
    const kept: Series = {
      key: p.key,
      label: p.label,
      measured: sameList(p.measured, s.measured) ? p.measured : s.measured,
      theory: sameList(p.theory, s.theory, samePlace) ? p.theory : s.theory,
      theoryText: sameList(p.theoryText, s.theoryText) ? p.theoryText : s.theoryText,
      spread: sameList(p.spread, s.spread, sameBand) ? p.spread : s.spread,
    };
    const same = kept.measured === p.measured && kept.theory === p.theory && kept.theoryText === p.theoryText && kept.spread === p.spread;
    if (!same) changed = true;
    return same ? p : kept;
  });
  return changed ? { ...next, series } : previous;
}

/** The spec, as the same object (and the same arrays inside) while its contents are unchanged. */
function useStableSpec(next: PanelSpec): PanelSpec {
  const previous = useRef<PanelSpec | null>(null);
  const spec = stableSpec(previous.current, next);
  previous.current = spec;
  return spec;
}

const Panel = memo(PanelView);

function layerRange(positions: number[]): string {
  const parts: string[] = [];
  let start = 0;
  for (let k = 1; k <= positions.length; k++) {
    if (k < positions.length && positions[k] === positions[k - 1] + 1) continue;
    const a = positions[start] + 1;
    const b = positions[k - 1] + 1;
    parts.push(a === b ? `${a}` : `${a}-${b}`);
    start = k;
  }
  return parts.join(', ');
}

function LegendSwatch({ kind, color }: { kind: 'circle' | 'square' | 'solid' | 'dashed' | 'band' | 'edge'; color: string }) {
  return (
    <svg width={22} height={12} aria-hidden="true" style={{ marginRight: 4, verticalAlign: 'middle' }}>
      {kind === 'circle' && <circle cx={11} cy={6} r={3.5} fill={color} />}
      {kind === 'square' && <rect x={7.5} y={2.5} width={7} height={7} fill="#ffffff" stroke={color} strokeWidth={1.5} />}
      {kind === 'solid' && <line x1={1} x2={21} y1={6} y2={6} stroke={color} strokeWidth={1.75} />}
      {kind === 'dashed' && <line x1={1} x2={21} y1={6} y2={6} stroke={color} strokeWidth={1.75} strokeDasharray="6 3" />}
      {kind === 'band' && <rect x={1} y={2} width={20} height={8} fill={color} fillOpacity={0.25} />}
      {kind === 'edge' && <path d={edgeMarker('down', 11, 6, 4.5)} fill={color} />}
    </svg>
  );
}

function VarianceChartView(props: VarianceChartProps) {
  const { a, b, theoryA, theoryB, showTheory, focused, onFocus, labelA = 'A', labelB = 'B', width = 1240, height = 300 } = props;
  const comparing = b !== undefined;
  const depth = Math.max(a.length, theoryA.length, b?.length ?? 0, theoryB?.length ?? 0);
  // The cells get one callback for their whole life, so a new onFocus from the parent does not redraw them.
  const { active, activate } = useFocus(focused, onFocus);

  const runs = useMemo(() => {
    const list: { key: 'a' | 'b'; label: string; layers: (LayerResult | undefined)[]; theory: TheoryLayer[] }[] = [
      { key: 'a', label: labelA, layers: a, theory: theoryA },
    ];
    if (comparing) list.push({ key: 'b', label: labelB, layers: b ?? [], theory: theoryB ?? [] });
    return list;
  }, [a, b, theoryA, theoryB, comparing, labelA, labelB]);

  const freshVariance = useMemo((): PanelSpec => {
    const series = runs.map((r): Series => {
      const theory = r.theory.slice(0, depth).map((t) => theoryPlace(t.preVariance, t.logPreVariance));
      return {
        key: r.key,
        label: r.label,
        measured: Array.from({ length: depth }, (_, i) => (r.layers[i] ? toNumber(r.layers[i]!.pre?.variance) : undefined)),
        theory,
        theoryText: theory.map((p, i) => placeText(p, toNumber(r.theory[i].preVariance))),
        spread: Array.from({ length: depth }, (_, i) => {
          const s = r.layers[i]?.pre?.spread;
          if (!s) return null;
          const p10 = logPlace(s.p10);
          const p90 = logPlace(s.p90);
          return p10.kind === 'log' && p90.kind === 'log' ? { lo: p10.log, hi: p90.log } : null;
        }),
      };
    });
    return { id: 'variance', quantity: 'Var[y]', yLabel: 'Var[y] (pre-activation)', series };
  }, [runs, depth]);

  const freshGradient = useMemo((): PanelSpec => {
    const series = runs.map((r): Series => {
      const theory = r.theory.slice(0, depth).map((t) => theoryPlace(t?.gradientMeanSquare, t?.logGradientMeanSquare));
      return {
        key: r.key,
        label: r.label,
        measured: Array.from({ length: depth }, (_, i) => {
          const g = r.layers[i]?.gradient;
          return g ? toNumber(g.meanSquare) : undefined;
        }),
        theory,
        theoryText: theory.map((p, i) => placeText(p, toNumber(r.theory[i]?.gradientMeanSquare))),
        spread: Array.from({ length: depth }, () => null),
      };
    });
    return { id: 'gradient', quantity: 'E[(dL/dy)^2]', yLabel: 'E[(dL/dy)^2]', series };
  }, [runs, depth]);
  const variance = useStableSpec(freshVariance);
  const gradient = useStableSpec(freshGradient);

  const panelWidth = Math.max(200, Math.floor((width - PANEL_GAP) / 2));
  const hasSpread = variance.series.some((s) => s.spread.some((b) => b !== null));

  // Status and the values pinned to the edges, in words: nothing is dropped silently.
  const status: string[] = [];
  const edges: string[] = [];
  for (const spec of [variance, gradient]) {
    for (const s of spec.series) {
      const name = comparing ? `${s.label}: ` : '';
      const measuredCount = s.measured.filter((v) => v !== undefined).length;
      if (spec.id === 'variance' && measuredCount < depth) status.push(`${name}${measuredCount} of ${depth} layers measured.`);
      if (spec.id === 'gradient' && measuredCount < depth) {
        status.push(`${name ? `${name}gradients` : 'Gradients'} of ${measuredCount} of ${depth} layers (the backward pass runs from the top layer down, after the forward pass).`);
      }
      const zero = s.measured.flatMap((v, i) => (v !== undefined && logPlace(v).kind === 'zero' ? [i] : []));
      const inf = s.measured.flatMap((v, i) => (v !== undefined && logPlace(v).kind === 'inf' ? [i] : []));
      if (zero.length) edges.push(`${name ? `${name}measured` : 'Measured'} ${spec.quantity} is 0 at layer ${layerRange(zero)}, marked at the bottom edge (a log axis has no 0).`);
      if (inf.length) edges.push(`${name ? `${name}measured` : 'Measured'} ${spec.quantity} is not finite at layer ${layerRange(inf)}, marked at the top edge.`);
      if (showTheory) {
        const tz = s.theory.flatMap((p, i) => (p.kind === 'zero' ? [i] : []));
        const ti = s.theory.flatMap((p, i) => (p.kind === 'inf' ? [i] : []));
        if (tz.length) edges.push(`${name ? `${name}theory` : 'Theory'} ${spec.quantity} is 0 at layer ${layerRange(tz)}, marked at the bottom edge.`);
        if (ti.length) edges.push(`${name ? `${name}theory` : 'Theory'} ${spec.quantity} is not finite at layer ${layerRange(ti)}, marked at the top edge.`);
      }
    }
  }

  let detail = 'Hover over or focus a layer (arrow keys move between layers) to see its numbers.';
  if (active !== null && active !== undefined && active >= 0 && active < depth) {
    const runText = (k: number) => {
      const parts = [variance, gradient].map((spec) => {
        const s = spec.series[k];
        const v = s.measured[active];
        const measured = v === undefined ? 'not computed yet' : placeText(logPlace(v), toNumber(v));
        const theory = s.theoryText[active] !== undefined ? ` (theory ${s.theoryText[active]})` : '';
        return `${spec.quantity} ${measured}${theory}`;
      });
      return `${comparing ? `${runs[k].label}: ` : ''}${parts.join(', ')}`;
    };
    detail = `Layer ${active + 1}: ${runs.map((_, k) => runText(k)).join('; ')}.`;
  }

  const hasEdges = edges.length > 0;
  return (
    <figure style={{ margin: 0, width, fontFamily: FONT.family, fontSize: FONT.normal, color: COLORS.text }}>
      <figcaption style={{ marginBottom: 4 }}>
        {`Pre-activation variance Var[y] (left) and gradient mean square E[(dL/dy)^2] (right) by layer, on log scales: points measured${
          showTheory ? ', lines the mean-field theory' : ''
        }${hasSpread ? ', bands the 10th to 90th percentile over the networks' : ''}. `}
        {status.join(' ')}
        {hasEdges ? ` ${edges.join(' ')}` : ''}
      </figcaption>
      <ul aria-label="Legend" style={{ listStyle: 'none', display: 'flex', flexWrap: 'wrap', gap: 14, margin: '0 0 4px', padding: 0 }}>
        {runs.map((r) => (
          <li key={`m-${r.key}`}>
            <LegendSwatch kind={r.key === 'a' ? 'circle' : 'square'} color={COLORS[r.key]} />
            {`${r.label} measured`}
          </li>
        ))}
        {showTheory &&
          runs.map((r) => (
            <li key={`t-${r.key}`}>
              <LegendSwatch kind={r.key === 'a' ? 'solid' : 'dashed'} color={COLORS[r.key]} />
              {`${r.label} theory`}
            </li>
          ))}
        {hasSpread && (
          <li>
            <LegendSwatch kind="band" color={COLORS.muted} />
            spread over networks (10th-90th percentile)
          </li>
        )}
        {hasEdges && (
          <li>
            <LegendSwatch kind="edge" color={COLORS.muted} />
            0 or inf, pinned to the axis edge
          </li>
        )}
      </ul>
      <div style={{ display: 'flex', gap: PANEL_GAP }}>
        <Panel spec={variance} depth={depth} width={panelWidth} height={height} showTheory={showTheory} comparing={comparing} active={active ?? null} onActivate={activate} />
        <Panel spec={gradient} depth={depth} width={panelWidth} height={height} showTheory={showTheory} comparing={comparing} active={active ?? null} onActivate={activate} />
      </div>
      <p aria-live="polite" style={{ margin: '4px 0 0', minHeight: '1.4em' }}>
        {detail}
      </p>
    </figure>
  );
}

/** Measured Var[y] and E[(dL/dy)^2] by layer (points) beside the mean-field theory (lines), log scales, one x scale. */
export const VarianceChart = memo(VarianceChartView);
