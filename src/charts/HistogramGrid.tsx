/**
 * Histograms of the layers as small multiples: one cell per layer, A as filled bars and B as a dashed
 * step outline. d3 computes the scales and the path strings; React renders the SVG. Each cell is a
 * memoized component, so a layer arriving from the worker redraws only its own cell (and, on the
 * shared axis, the cells whose common x domain it widens).
 */
import { useFocus } from './useFocus';
import { memo, useMemo, useRef, useState, type ReactNode } from 'react';
import { area, curveStepAfter, line, scaleLinear, scaleSymlog } from 'd3';
import type { Activation } from '../engine/schema';
import type { LayerResult } from '../engine/simulate';
import type { Stats } from '../engine/stats';
import { layerFlags, type Flag } from './flags';
import { formatPercent, formatValue, toNumber } from './numbers';
import { sampleLayers } from './sampleLayers';
import { fittingTicks } from './ticks';
import { COLORS, FONT } from './theme';

/** Props of the histogram small multiples. Layer positions (`focused`, `onFocus`) are 0-based indices into `a`. */
export interface HistogramGridProps {
  /** Run A, one entry per layer; `undefined` for a layer not computed yet. */
  a: (LayerResult | undefined)[];
  /** Run B in a comparison, else absent. */
  b?: (LayerResult | undefined)[];
  /** Number of layers (cells), computed or not. */
  depth: number;
  /** Pre-activations y or post-activations phi(y). */
  which: 'pre' | 'post';
  /** Counts on a symmetric log scale (log(1 + count)) instead of linear. */
  logCounts: boolean;
  /** One x scale over every shown layer, or each cell its own. */
  sharedAxis: boolean;
  /** A's activation (for the flags). */
  act: Activation;
  /** B's activation when it differs from A's. */
  actB?: Activation;
  /** The layer another view points at, or null; absent to let the grid track its own hover. */
  focused?: number | null;
  onFocus?(index: number | null): void;
  /** At most this many cells unless the reader asks for all (default 30). */
  maxCells?: number;
  labelA?: string;
  labelB?: string;
  /** Width of the whole grid in px (default 1240). */
  width?: number;
  /** Height of one cell in px (default 104, 116 in a comparison). */
  cellHeight?: number;
  /** What a layer without results says: 'computing…' (the default) while its run goes on. */
  pending?: string;
}

/** A bin holding more than SPIKE_RATIO times the next tallest bin is a spike (the ReLU zeros)... */
export const SPIKE_RATIO = 3;
/** ...drawn, on linear counts, SPIKE_CAP times as tall as the next tallest bin, with a break mark and its share in words. */
export const SPIKE_CAP = 1.5;
/** A histogram narrower than this many px on its cell's axis is drawn as a line and named as too narrow to see. */
export const NARROW_PX = 2;

const MIN_CELL_WIDTH = 170;
const GAP = 6;
const PAD = 6;
/** Header lines above the plot: layer and std (and, in a comparison, A / B std on a line of its own), then flags. */
const LINE = 12.5;
const AXIS_HEIGHT = 16;

interface Hist {
  edges: number[];
  counts: number[];
  lo: number;
  hi: number;
}

/** The histogram of a statistics record, or null when it has no finite value to show or is malformed. */
function histOf(stats: Stats | undefined): Hist | null {
  const h = stats?.histogram;
  if (!h || !Array.isArray(h.edges) || !Array.isArray(h.counts)) return null;
  if (h.counts.length === 0 || h.edges.length !== h.counts.length + 1) return null;
  const edges = h.edges.map(toNumber);
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i]) || (i > 0 && !(edges[i] >= edges[i - 1]))) return null;
  }
  const counts = h.counts.map((c) => Math.max(0, toNumber(c) || 0));
  if (!counts.some((c) => c > 0)) return null;
  return { edges, counts, lo: edges[0], hi: edges[edges.length - 1] };
}

/** Plot width in px of a cell `width` wide. */
function plotWidth(width: number): number {
  return width - 2 * PAD;
}

/** True when a histogram spanning [lo, hi] covers fewer than NARROW_PX of a plot `px` wide showing [from, to]. */
function isNarrow(h: Hist, from: number, to: number, px: number): boolean {
  return to > from ? ((h.hi - h.lo) / (to - from)) * px < NARROW_PX : false;
}

interface Spike {
  bin: number;
  /** The tallest of the other bins. */
  next: number;
}

function spikeOf(counts: number[]): Spike | null {
  let bin = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i] > counts[bin]) bin = i;
  let next = 0;
  for (let i = 0; i < counts.length; i++) if (i !== bin && counts[i] > next) next = counts[i];
  return counts[bin] > SPIKE_RATIO * next ? { bin, next } : null;
}

function statsOf(layer: LayerResult | undefined, which: 'pre' | 'post'): Stats | undefined {
  return layer ? layer[which] : undefined;
}

/** Exact numbers of one layer's values, for the tooltip and the detail line. */
function describe(stats: Stats | undefined): string {
  if (!stats) return 'no statistics';
  const q = stats.quantiles;
  const parts = [
    `mean ${formatValue(stats.mean)}`,
    `std ${formatValue(stats.std)}`,
    `min ${formatValue(stats.min)}`,
    `max ${formatValue(stats.max)}`,
    `zero fraction ${formatPercent(stats.zeroFraction)}`,
    `quantiles p01 ${formatValue(q?.p01)}, p50 ${formatValue(q?.p50)}, p99 ${formatValue(q?.p99)}`,
  ];
  const saturated = toNumber(stats.saturatedFraction);
  if (saturated > 0) parts.push(`saturated ${formatPercent(saturated)}`);
  const below = toNumber(stats.histogram?.below);
  const above = toNumber(stats.histogram?.above);
  if (below > 0 || above > 0) parts.push(`${below || 0} below and ${above || 0} above the histogram's range`);
  const nonFinite = toNumber(stats.nonFinite);
  if (nonFinite > 0) parts.push(`${nonFinite} non-finite (infinite or not a number)`);
  return parts.join(', ');
}

interface CellProps {
  position: number;
  layerA: LayerResult | undefined;
  layerB: LayerResult | undefined;
  comparing: boolean;
  which: 'pre' | 'post';
  logCounts: boolean;
  /** The flags of layerA and layerB (empty without the layer). */
  flagsA: Flag[];
  flagsB: Flag[];
  shared: boolean;
  sharedLo: number;
  sharedHi: number;
  focused: boolean;
  width: number;
  height: number;
  onActivate(position: number | null): void;
  pending: string;
}

interface SeriesView {
  key: 'a' | 'b';
  hist: Hist;
  stats: Stats;
  spike: Spike | null;
}

function HistogramCellView(p: CellProps) {
  const { width, height, comparing } = p;
  const layerNumber = p.position + 1;
  const statsA = statsOf(p.layerA, p.which);
  const statsB = comparing ? statsOf(p.layerB, p.which) : undefined;
  const flagsA = p.flagsA;
  const flagsB = comparing ? p.flagsB : NO_FLAGS;
  const series: SeriesView[] = [];
  const histA = histOf(statsA);
  const histB = histOf(statsB);
  if (histA && statsA) series.push({ key: 'a', hist: histA, stats: statsA, spike: spikeOf(histA.counts) });
  if (histB && statsB) series.push({ key: 'b', hist: histB, stats: statsB, spike: spikeOf(histB.counts) });

  const left = PAD;
  const right = width - PAD;
  const top = 6 + LINE * (comparing ? 3 : 2);
  const bottom = height - AXIS_HEIGHT;

  let lo = p.shared ? p.sharedLo : Math.min(...series.map((s) => s.hist.lo));
  let hi = p.shared ? p.sharedHi : Math.max(...series.map((s) => s.hist.hi));
  if (!(hi > lo) || !Number.isFinite(hi - lo)) {
    const c = Number.isFinite(lo) ? lo : 0;
    const half = Math.abs(c) * 1e-3 || 0.5;
    lo = c - half;
    hi = c + half;
  }
  const x = scaleLinear().domain([lo, hi]).range([left, right]).clamp(true);

  const capped = (s: SeriesView) => {
    const tallest = Math.max(...s.hist.counts);
    if (p.logCounts || !s.spike || s.spike.next === 0) return tallest;
    return SPIKE_CAP * s.spike.next;
  };
  const yMax = Math.max(1, ...series.map(capped));
  const y = (p.logCounts ? scaleSymlog().constant(1) : scaleLinear()).domain([0, yMax]).range([bottom, top]).clamp(true);

  const stepPoints = (h: Hist): [number, number][] => [
    ...h.counts.map((c, i): [number, number] => [h.edges[i], c]),
    [h.edges[h.edges.length - 1], h.counts[h.counts.length - 1]],
  ];
  const filled = area<[number, number]>()
    .x((d) => x(d[0]))
    .y0(bottom)
    .y1((d) => y(d[1]))
    .curve(curveStepAfter);
  const outline = line<[number, number]>()
    .x((d) => x(d[0]))
    .y((d) => y(d[1]))
    .curve(curveStepAfter);

  const notes: { key: string; text: string }[] = [];
  const narrow: string[] = [];
  const marks: ReactNode[] = [];
  const prefix = (key: 'a' | 'b') => (comparing ? `${key.toUpperCase()}: ` : '');
  for (const s of series) {
    const color = COLORS[s.key];
    if (isNarrow(s.hist, lo, hi, plotWidth(width))) {
      // The whole histogram would fall inside a pixel or two: a line marks where it is, words say why it is flat.
      const at = x((s.hist.lo + s.hist.hi) / 2);
      marks.push(
        <line
          key={`narrow-${s.key}`}
          x1={at}
          x2={at}
          y1={bottom}
          y2={top + 4}
          stroke={color}
          strokeWidth={2}
          strokeDasharray={s.key === 'b' ? '3 2' : undefined}
        />,
      );
      const range = formatValue(s.hist.hi - s.hist.lo, 3);
      notes.push({ key: `narrow-${s.key}`, text: `${prefix(s.key)}range ${range}: too narrow` });
      narrow.push(`${prefix(s.key)}range ${range}, too narrow to see ${p.shared ? 'on the shared axis' : "beside the other run's histogram"}`);
      continue;
    }
    const points = stepPoints(s.hist);
    if (s.key === 'a') {
      marks.push(<path key="bars-a" d={filled(points) ?? ''} fill={color} fillOpacity={comparing ? 0.75 : 0.9} stroke="none" />);
    } else {
      const path = outline([[s.hist.edges[0], 0], ...points, [s.hist.edges[s.hist.edges.length - 1], 0]]);
      marks.push(<path key="outline-b" d={path ?? ''} fill="none" stroke={color} strokeWidth={1.5} strokeDasharray="4 2" />);
    }
    if (!p.logCounts) {
      s.hist.counts.forEach((c, i) => {
        if (c <= yMax) return;
        // A break mark: the bar goes on beyond the top of the cell.
        const x0 = x(s.hist.edges[i]);
        const x1 = Math.max(x0 + 3, x(s.hist.edges[i + 1]));
        const yb = top + 6 + (s.key === 'b' ? 5 : 0);
        marks.push(
          <g key={`break-${s.key}-${i}`} aria-hidden="true">
            <rect x={x0 - 1} y={yb - 1.5} width={x1 - x0 + 2} height={3} fill="#ffffff" />
            <line x1={x0 - 2} x2={x1 + 2} y1={yb + 2.5} y2={yb - 0.5} stroke={color} strokeWidth={1} />
            <line x1={x0 - 2} x2={x1 + 2} y1={yb + 0.5} y2={yb - 2.5} stroke={color} strokeWidth={1} />
          </g>,
        );
      });
    }
    if (s.spike) {
      const { bin } = s.spike;
      const e0 = s.hist.edges[bin];
      const e1 = s.hist.edges[bin + 1];
      const zeros = toNumber(s.stats.zeroFraction);
      const total = toNumber(s.stats.count) || s.hist.counts.reduce((t, c) => t + c, 0);
      const text =
        e0 <= 0 && 0 <= e1 && zeros > 0
          ? `${formatPercent(zeros)} at 0`
          : `${formatPercent(s.hist.counts[bin] / total)} in one bin`;
      const leftHalf = x((e0 + e1) / 2) < (left + right) / 2;
      marks.push(
        <text
          key={`spike-${s.key}`}
          x={leftHalf ? x(e1) + 3 : x(e0) - 3}
          y={top + 10 + (s.key === 'b' ? 12 : 0)}
          textAnchor={leftHalf ? 'start' : 'end'}
          fontSize={FONT.small}
          fill={COLORS.text}
          stroke="#ffffff"
          strokeWidth={3}
          paintOrder="stroke"
        >
          {`${prefix(s.key)}${text}`}
        </text>,
      );
    }
  }
  for (const [key, layer, stats, hist] of [
    ['a', p.layerA, statsA, histA],
    ['b', p.layerB, statsB, histB],
  ] as const) {
    if (key === 'b' && !comparing) continue;
    if (!layer) {
      const other = key === 'a' ? p.layerB : p.layerA;
      if (other) notes.push({ key: `${key}-computing`, text: `${prefix(key)}${p.pending}` });
      continue;
    }
    const nonFinite = toNumber(stats?.nonFinite);
    if (!hist) notes.push({ key: `empty-${key}`, text: `${prefix(key)}no finite values to draw` });
    if (nonFinite > 0) notes.push({ key: `nonfinite-${key}`, text: `${prefix(key)}${nonFinite} non-finite not drawn` });
  }

  const ticks = p.layerA || p.layerB ? fittingTicks(x, left, right, 5) : [];

  const stdText = [statsA, statsB]
    .slice(0, comparing ? 2 : 1)
    .map((s) => (s ? formatValue(s.std, 3) : '…'))
    .join(' / ');
  const flagText = (flags: Flag[]) => flags.map((f) => f.label).join(', ');
  const flagLine = comparing
    ? [flagsA.length ? `A: ${flagText(flagsA)}` : '', flagsB.length ? `B: ${flagText(flagsB)}` : ''].filter(Boolean).join(' · ')
    : flagText(flagsA);

  const computing = !p.layerA && (!comparing || !p.layerB);
  const which = p.which === 'pre' ? 'pre-activation' : 'post-activation';
  const runSummary = (key: 'a' | 'b', stats: Stats | undefined, flags: Flag[]) => {
    const name = comparing ? `${key.toUpperCase()} ` : '';
    if (!stats) return `${name}${p.pending}`;
    const f = flags.length ? `; flags: ${flags.map((g) => g.label).join(', ')}` : '';
    return `${name}std ${formatValue(stats.std)}, zero fraction ${formatPercent(stats.zeroFraction)}${f}`;
  };
  const label = computing
    ? `Layer ${layerNumber}: ${p.pending}`
    : `Layer ${layerNumber} ${which}: ${runSummary('a', statsA, flagsA)}${comparing ? `; ${runSummary('b', statsB, flagsB)}` : ''}${
        narrow.length ? `; ${narrow.join('; ')}` : ''
      }`;
  const tooltip = computing
    ? label
    : [
        `Layer ${layerNumber}, ${which}`,
        `${comparing ? 'A: ' : ''}${p.layerA ? describe(statsA) : p.pending}`,
        ...(comparing ? [`B: ${p.layerB ? describe(statsB) : p.pending}`] : []),
        ...narrow,
        ...flagsA.map((f) => f.title),
        ...flagsB.map((f) => `B: ${f.title}`),
      ].join('\n');

  const activate = p.onActivate;
  return (
    <svg
      role="img"
      aria-label={label}
      tabIndex={0}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      style={{ display: 'block', overflow: 'hidden', fontFamily: FONT.family }}
      onFocus={() => activate(p.position)}
      onBlur={() => activate(null)}
      onMouseEnter={() => activate(p.position)}
      onMouseLeave={() => activate(null)}
    >
      <title>{tooltip}</title>
      <rect
        x={0.5}
        y={0.5}
        width={width - 1}
        height={height - 1}
        fill="#ffffff"
        stroke={p.focused ? COLORS.focus : COLORS.grid}
        strokeWidth={p.focused ? 2 : 1}
      />
      <text x={PAD} y={13} fontSize={FONT.normal} fontWeight={600} fill={COLORS.text}>
        {`Layer ${layerNumber}`}
      </text>
      {!computing &&
        (comparing ? (
          <text x={PAD} y={13 + LINE} fontSize={FONT.small} fill={COLORS.text}>
            {`std ${stdText}`}
          </text>
        ) : (
          <text x={width - PAD} y={13} fontSize={FONT.small} textAnchor="end" fill={COLORS.text}>
            {`std ${stdText}`}
          </text>
        ))}
      {flagLine && (
        <text x={PAD} y={13 + LINE * (comparing ? 2 : 1)} fontSize={FONT.small} fill={COLORS.flag}>
          {flagLine}
        </text>
      )}
      {computing ? (
        <text x={width / 2} y={(top + bottom) / 2} textAnchor="middle" fontSize={FONT.normal} fill={COLORS.muted}>
          {p.pending}
        </text>
      ) : (
        <g>
          <line x1={left} x2={right} y1={bottom + 0.5} y2={bottom + 0.5} stroke={COLORS.frame} />
          {marks}
          {notes.map((n, i) => (
            <text
              key={n.key}
              x={left + 2}
              y={bottom - 4 - (notes.length - 1 - i) * 12}
              fontSize={FONT.small}
              fill={COLORS.text}
              stroke="#ffffff"
              strokeWidth={3}
              paintOrder="stroke"
            >
              {n.text}
            </text>
          ))}
          {ticks.map((t) => (
            <g key={t.value}>
              <line x1={t.x} x2={t.x} y1={bottom} y2={bottom + 3} stroke={COLORS.frame} />
              <text x={t.x} y={height - 3} fontSize={FONT.small} textAnchor={t.anchor} fill={COLORS.muted}>
                {t.label}
              </text>
            </g>
          ))}
        </g>
      )}
    </svg>
  );
}

const NO_FLAGS: Flag[] = [];

function sameFlags(a: Flag[], b: Flag[]): boolean {
  return a === b || (a.length === b.length && a.every((f, i) => f.id === b[i].id && f.label === b[i].label && f.title === b[i].title));
}

interface FlagMemo {
  act: Activation;
  first: number;
  flags: Flag[];
}

/**
 * layerFlags per layer, computed once per layer object, activation and first-layer variance (the
 * reference of the relative vanishing rule), and kept as the same array while they read the same:
 * a new first layer then redraws only the cells whose flags it changes.
 */
function useLayerFlags(): (layer: LayerResult | undefined, act: Activation, first: number) => Flag[] {
  const cache = useRef<WeakMap<LayerResult, FlagMemo> | null>(null);
  cache.current ??= new WeakMap();
  const last = useRef(new Map<number, Flag[]>());
  return (layer, act, first) => {
    if (!layer) return NO_FLAGS;
    const hit = cache.current!.get(layer);
    if (hit && hit.act === act && Object.is(hit.first, first)) return hit.flags;
    let flags = layerFlags(layer, act, layer.theory, first);
    // The same layer's previous flags, or those of its position (a layer whose gradient arrived is a new object).
    const previous = hit?.flags ?? last.current.get(layer.index);
    if (previous && sameFlags(previous, flags)) flags = previous;
    cache.current!.set(layer, { act, first, flags });
    last.current.set(layer.index, flags);
    return flags;
  };
}

/**
 * True when a cell would draw the two layers alike: the same object, or the same statistics
 * objects (a layer whose backward pass arrives is a new object with only its gradient new; a cell
 * reads only the layer's pre and post statistics, and gets its flags as props).
 */
function sameDrawnLayer(a: LayerResult | undefined, b: LayerResult | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.index === b.index && a.pre === b.pre && a.post === b.post);
}

const HistogramCell = memo(HistogramCellView, (p, q) => {
  for (const key of Object.keys(p) as (keyof CellProps)[]) {
    if (key === 'layerA' || key === 'layerB') {
      if (!sameDrawnLayer(p[key], q[key])) return false;
    } else if (!Object.is(p[key], q[key])) return false;
  }
  return true;
});

function HistogramGridView(props: HistogramGridProps) {
  const {
    a,
    b,
    depth,
    which,
    logCounts,
    sharedAxis,
    act,
    actB = act,
    focused,
    onFocus,
    maxCells = 30,
    labelA = 'A',
    labelB = 'B',
    width = 1240,
    cellHeight,
    pending = 'computing…',
  } = props;
  const comparing = b !== undefined;
  const height = cellHeight ?? (comparing ? 116 : 104);
  const count = Math.max(0, Math.floor(toNumber(depth)) || 0);
  const limit = Math.max(2, Math.floor(maxCells));
  const [showAll, setShowAll] = useState(false);
  // The cells get one callback for their whole life, so a new onFocus from the parent does not redraw them.
  const { active, activate } = useFocus(focused, onFocus);

  const sampled = count > limit;
  const shown = useMemo(
    () => (sampled && !showAll ? sampleLayers(count, limit) : Array.from({ length: count }, (_, i) => i)),
    [sampled, showAll, count, limit],
  );

  const [sharedLo, sharedHi] = useMemo(() => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of shown) {
      for (const layer of [a[i], comparing ? b?.[i] : undefined]) {
        const h = histOf(statsOf(layer, which));
        if (!h) continue;
        lo = Math.min(lo, h.lo);
        hi = Math.max(hi, h.hi);
      }
    }
    return [lo, hi];
  }, [a, b, comparing, shown, which]);

  // Off the shared axis the cells get no domain at all, so a layer arriving does not redraw the others.
  const shared = sharedAxis && sharedHi > sharedLo;
  const columns = Math.max(1, Math.floor((width + GAP) / (MIN_CELL_WIDTH + GAP)));
  const cellWidth = Math.floor((width - GAP * (columns - 1)) / columns);
  const narrowCount = useMemo(() => {
    let n = 0;
    for (const i of shown) {
      const hists = [histOf(statsOf(a[i], which)), comparing ? histOf(statsOf(b?.[i], which)) : null].filter((h): h is Hist => h !== null);
      const from = sharedAxis ? sharedLo : Math.min(...hists.map((h) => h.lo));
      const to = sharedAxis ? sharedHi : Math.max(...hists.map((h) => h.hi));
      for (const h of hists) if (isNarrow(h, from, to, plotWidth(cellWidth))) n++;
    }
    return n;
  }, [a, b, comparing, shown, which, sharedAxis, sharedLo, sharedHi, cellWidth]);
  const firstA = toNumber(a[0]?.pre?.variance);
  const firstB = toNumber(b?.[0]?.pre?.variance);
  const flagsOfA = useLayerFlags();
  const flagsOfB = useLayerFlags();
  const computed = shown.filter((i) => a[i] !== undefined).length;
  const allComputed = Array.from({ length: count }, (_, i) => i).filter((i) => a[i] !== undefined && (!comparing || b?.[i] !== undefined)).length;

  const whichName = which === 'pre' ? 'Pre-activation' : 'Post-activation';
  const shownText = sampled && !showAll
    ? `Showing ${shown.length} of ${count} layers, evenly spaced, the first and the last included: ${shown.map((i) => i + 1).join(', ')}.`
    : `Showing all ${count} layers.`;

  let detail = 'Hover over or focus a layer to see its exact numbers.';
  if (active !== null && active !== undefined && active >= 0 && active < count) {
    const la = a[active];
    const lb = comparing ? b?.[active] : undefined;
    const part = (name: string, layer: LayerResult | undefined) =>
      `${name}${layer ? describe(statsOf(layer, which)) : pending}`;
    detail = `Layer ${active + 1} (${which === 'pre' ? 'pre-activation' : 'post-activation'}): ${part(comparing ? `${labelA}: ` : '', la)}${
      comparing ? `. ${part(`${labelB}: `, lb)}` : ''
    }.`;
  }

  const cells = (
    <div style={{ display: 'flex', flexWrap: 'wrap', gap: GAP }}>
      {shown.map((i) => (
        <HistogramCell
          key={i}
          position={i}
          layerA={a[i]}
          layerB={comparing ? b?.[i] : undefined}
          comparing={comparing}
          which={which}
          logCounts={logCounts}
          flagsA={flagsOfA(a[i], act, firstA)}
          flagsB={comparing ? flagsOfB(b?.[i], actB, firstB) : NO_FLAGS}
          shared={shared}
          sharedLo={shared ? sharedLo : NaN}
          sharedHi={shared ? sharedHi : NaN}
          focused={active === i}
          width={cellWidth}
          height={height}
          onActivate={activate}
          pending={pending}
        />
      ))}
    </div>
  );

  return (
    <figure style={{ margin: 0, width, fontFamily: FONT.family, fontSize: FONT.normal, color: COLORS.text }}>
      <figcaption style={{ marginBottom: 4 }}>
        {`${whichName} histograms, one cell per layer, ${sharedAxis ? 'all on one shared x axis' : 'each on its own x axis'}, ${
          logCounts ? 'log' : 'linear'
        } counts. `}
        {shownText}
        {allComputed < count ? ` ${allComputed} of ${count} layers computed.` : ''}
        {narrowCount > 0
          ? ` "too narrow" marks ${narrowCount === 1 ? 'a histogram' : `${narrowCount} histograms`} whose whole range is under ${NARROW_PX} px ${
              sharedAxis ? 'on the shared axis, drawn as a line (each cell on its own axis shows the shape)' : "beside the other run's, drawn as a line"
            }.`
          : ''}
        {comparing && (
          <span style={{ display: 'inline-flex', gap: 12, marginLeft: 8, alignItems: 'center' }}>
            <span>
              <svg width={18} height={10} aria-hidden="true" style={{ marginRight: 4 }}>
                <rect x={1} y={1} width={16} height={8} fill={COLORS.a} />
              </svg>
              {`${labelA === 'A' ? 'A' : `A: ${labelA}`} (filled bars)`}
            </span>
            <span>
              <svg width={18} height={10} aria-hidden="true" style={{ marginRight: 4 }}>
                <path d="M1 9 V2 H17 V9" fill="none" stroke={COLORS.b} strokeWidth={1.5} strokeDasharray="4 2" />
              </svg>
              {`${labelB === 'B' ? 'B' : `B: ${labelB}`} (dashed outline)`}
            </span>
          </span>
        )}
      </figcaption>
      {sampled && (
        <button type="button" onClick={() => setShowAll((v) => !v)} aria-pressed={showAll} style={{ fontSize: FONT.normal, marginBottom: 4 }}>
          {showAll ? `Show ${limit} evenly spaced layers` : `Show all ${count} layers`}
        </button>
      )}
      {sampled && showAll ? (
        <div
          role="region"
          aria-label={`All ${count} layers`}
          style={{ maxHeight: 4 * (height + GAP), overflowY: 'auto' }}
        >
          {cells}
        </div>
      ) : (
        cells
      )}
      <p aria-live="polite" style={{ margin: '4px 0 0', minHeight: '2.6em' }}>
        {detail}
      </p>
      {computed === 0 && count > 0 && <p style={{ margin: 0, color: COLORS.muted }}>No layer computed yet.</p>}
    </figure>
  );
}

/** Small multiples of the per-layer histograms of A (filled bars) and B (dashed outline), at most `maxCells` at a time. */
export const HistogramGrid = memo(HistogramGridView);
