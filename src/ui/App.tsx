/** The page: the control column, the story and explanations, the status, and the charts. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { HistogramGrid } from '../charts/HistogramGrid';
import { PositionMap } from '../charts/PositionMap';
import { StatsTable } from '../charts/StatsTable';
import { VarianceChart } from '../charts/VarianceChart';
import { short } from '../engine/initializers';
import { formatNumber } from '../engine/report';
import type { Config, RunConfig } from '../engine/schema';
import { decode, describeProblem, encode, resolveB, type PanelName } from '../link/codec';
import { shareUrl } from '../state/urlSync';
import type { SideResult } from '../state/store';
import { ActivationPanel, ComparePanel, DataPanel, InitPanel, NetworkPanel, ViewPanel } from './panels';
import { ExportPanel } from './ExportPanel';
import { CodePanel } from './CodePanel';
import { ErrorBoundary } from './ErrorBoundary';
import { explanation } from './Explanation';
import { optionFor } from './initOptions';
import { PRESETS, type Preset } from './presets';
import { useApp, useRunner } from './useApp';

/** Canonical link of each preset, to recognise when the current configuration is one. */
const PRESET_LINKS = new Map(PRESETS.map((p) => [encode(decode(p.link).config), p]));

function describe(c: RunConfig): string {
  const o = optionFor(c);
  const scale = c.init === 'wscale' ? `wscale=${short(c.scale)}, rule v${c.chainer}` : `scale ${short(c.scale)}`;
  return `${o?.group ?? ''} ${o?.label ?? c.init}, ${scale}`.trim();
}

/** The preset of each configuration object seen, so the link is encoded once per configuration. */
const PRESET_OF = new WeakMap<Config, Preset | null>();

function presetOf(config: Config): Preset | null {
  let preset = PRESET_OF.get(config);
  if (preset === undefined) {
    preset = PRESET_LINKS.get(encode(config)) ?? null;
    PRESET_OF.set(config, preset);
  }
  return preset;
}

function usePreset(): Preset | null {
  // Select the preset itself, not the configuration: an edit that leaves the preset as it was
  // (every edit of a configuration that is no preset) does not redraw the charts.
  return useApp((s) => presetOf(s.config));
}

function useWidth(fallback: number): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0].contentRect.width);
      if (w > 0) setWidth(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

function Presets() {
  const preset = usePreset();
  const loadLink = useApp((s) => s.loadLink);
  return (
    <div className="field presets">
      <label htmlFor="preset">Lesson preset</label>
      <select id="preset" value={preset?.id ?? ''} onChange={(e) => loadLink(PRESETS.find((p) => p.id === e.target.value)!.link)}>
        {!preset && <option value="">(your own configuration)</option>}
        {PRESETS.map((p) => (
          <option key={p.id} value={p.id}>
            {p.title}
          </option>
        ))}
      </select>
    </div>
  );
}

function Notice() {
  const problems = useApp((s) => s.problems);
  const dismiss = useApp((s) => s.dismissProblems);
  if (!problems.length) return null;
  return (
    <section className="notice" role="alert" aria-label="Problems with the configuration">
      <p>
        Some settings could not be used as given; everything else applies. {problems.length > 1 ? `${problems.length} problems:` : ''}
      </p>
      <ul>
        {problems.slice(0, 20).map((p, i) => (
          <li key={i}>{describeProblem(p)}</li>
        ))}
        {problems.length > 20 && <li>and {problems.length - 20} more</li>}
      </ul>
      <button type="button" onClick={dismiss}>
        Dismiss
      </button>
    </section>
  );
}

function costText(a: SideResult | null, b: SideResult | null): string {
  if (!a) return '';
  const macs = a.cost.multiplyAdds + (b?.cost.multiplyAdds ?? 0);
  const bytes = Math.max(a.cost.bytes, b?.cost.bytes ?? 0);
  return `${formatNumber(macs, 3)} multiply-adds, ${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;
}

/** Where the numbers blew up: the first layer with non-finite values, or from which all are exact zeros. */
export function blowUp(r: SideResult | null): string | null {
  if (!r) return null;
  const layers = r.layers.map((l, i) => (r.stale[i] ? undefined : l));
  const nonFinite = layers.findIndex((l) => l !== undefined && l.pre.nonFinite > 0);
  if (nonFinite >= 0) return `non-finite (Inf/NaN) from layer ${nonFinite + 1} on: float32 overflowed`;
  const zeros = layers.findIndex((l) => l !== undefined && l.pre.zeroFraction === 1);
  if (zeros >= 0) return `all exact zeros from layer ${zeros + 1} on: float32 underflowed (the theory line goes on in float64)`;
  return null;
}

function Status() {
  const run = useApp((s) => s.run);
  const a = useApp((s) => s.results.a);
  const b = useApp((s) => (s.config.b ? s.results.b : null));
  const cost = costText(a, b);
  const runner = useRunner();
  const pct = Math.round(100 * run.progress);
  return (
    <div className="status" aria-live="polite">
      {run.state === 'running' && (
        <>
          <progress max={100} value={pct} aria-label="Computing layers" />
          <span>
            computing… {pct}% of {cost}
          </span>
          <button type="button" className="small" onClick={() => runner?.cancel()}>
            Cancel
          </button>
        </>
      )}
      {run.state === 'done' && (
        <span data-testid="run-done">
          done in {run.ms !== null ? (run.ms / 1000).toFixed(1) : '?'} s{(run.workers ?? 1) > 1 ? ` on ${run.workers} workers` : ''}{cost ? `, ${cost}` : ''}
        </span>
      )}
      {run.state === 'cancelled' && (
        <>
          <span>cancelled; the results shown are partly stale.</span>
          <button type="button" className="small" onClick={() => runner?.retry()}>
            Run again
          </button>
        </>
      )}
      {run.state === 'error' && (
        <span role="alert" className="error">
          The computation failed: {run.message}. The last good results stay visible, marked stale.{' '}
          <button type="button" className="small" onClick={() => runner?.retry()}>
            Retry
          </button>
        </span>
      )}
    </div>
  );
}

function CopyLink() {
  const link = useApp((s) => s.link);
  const [copied, setCopied] = useState<string | null>(null);
  const url = shareUrl(link);
  return (
    <div className="copy">
      <button
        type="button"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(url);
            setCopied(url);
          } catch {
            setCopied(url);
          }
        }}
      >
        Copy link
      </button>
      {copied && (
        <output className="copied" data-testid="copied-link">
          {copied === url ? 'Copied: ' : 'Copied (older): '}
          {copied}
        </output>
      )}
    </div>
  );
}

function Lesson({ preset }: { preset: Preset }) {
  const loadLink = useApp((s) => s.loadLink);
  const flags = useApp((s) => s.flags);
  const i = PRESETS.indexOf(preset);
  // Each step is a link; the classroom flags stay as they are.
  const go = (j: number) => loadLink(encode(decode(PRESETS[j].link).config, flags));
  return (
    <nav className="lesson" aria-label="Lesson">
      <h2>
        <span className="step">
          Lesson {i + 1} of {PRESETS.length}:
        </span>{' '}
        {preset.title}
      </h2>
      <button type="button" className="small" disabled={i === 0} onClick={() => go(i - 1)}>
        Back
      </button>
      <button type="button" className="small" disabled={i === PRESETS.length - 1} onClick={() => go(i + 1)}>
        Next
      </button>
    </nav>
  );
}

/** The explanation of a side's theory, or an ellipsis before its first run; memoized on the run's configuration and theory. */
function useExplanation(side: 'a' | 'b'): string {
  // Select the two inputs, not the side's result: the result changes with every layer that arrives.
  const config = useApp((s) => s.results[side]?.config);
  const theory = useApp((s) => s.results[side]?.theory);
  return useMemo(() => (config && theory ? explanation(config, theory) : '…'), [config, theory]);
}

function Story() {
  const preset = usePreset();
  // Strings: the story redraws when a label reads differently, not on every edit.
  const describeA = useApp((s) => describe(s.config.a));
  const describeB = useApp((s) => {
    const b = resolveB(s.config);
    return b ? describe(b) : null;
  });
  const explainA = useExplanation('a');
  const explainB = useExplanation('b');
  // Strings or null, like the labels: not redrawn for every layer that arrives.
  const blowUpA = useApp((s) => blowUp(s.results.a));
  const blowUpB = useApp((s) => blowUp(s.results.b));
  return (
    <section className="story" aria-label="What you are looking at">
      {preset && <Lesson preset={preset} />}
      {preset && <p>{preset.text}</p>}
      <ul className="explain">
        <li>
          <span className="swatch a" aria-hidden="true" /> A ({preset?.labelA ?? describeA}): {explainA}
          {blowUpA && <strong className="blowup">; measured: {blowUpA}</strong>}
        </li>
        {describeB !== null && (
          <li>
            <span className="swatch b" aria-hidden="true" /> B ({preset?.labelB ?? describeB}): {explainB}
            {blowUpB && <strong className="blowup">; measured: {blowUpB}</strong>}
          </li>
        )}
      </ul>
    </section>
  );
}

function Charts() {
  const preset = usePreset();
  const view = useApp((s) => s.view);
  const setView = useApp((s) => s.setView);
  const a = useApp((s) => s.results.a);
  const b = useApp((s) => s.results.b);
  const comparing = useApp((s) => s.config.b !== null);
  const failed = useApp((s) => s.run.state === 'error' || s.run.state === 'cancelled');
  // A stopped run computes nothing more: its missing layers say so instead of "computing…".
  const pending = failed ? 'not computed (stopped)' : undefined;
  const present = useApp((s) => s.flags.present);
  const [ref, width] = useWidth(900);
  // One callback for the page's life, so the memoized charts are not redrawn for a new closure.
  const onFocus = useCallback((i: number | null) => setView({ focused: i === null ? null : i + 1 }), [setView]);
  if (!a) return <p className="placeholder">Starting the engine…</p>;
  const labelA = preset?.labelA ?? describe(a.config);
  const labelB = preset?.labelB ?? (b ? describe(b.config) : 'B');
  const bShown = comparing && b ? b : undefined;
  const staleCount = a.stale.filter(Boolean).length + (bShown?.stale.filter(Boolean).length ?? 0);
  const total = a.stale.length + (bShown?.stale.length ?? 0);
  const isConv = a.shapes[0]?.kind === 'conv';
  const mapLayer = Math.min(view.mapLayer, a.shapes.length);
  return (
    <div ref={ref} className={failed && staleCount ? 'charts stale' : 'charts'}>
      {staleCount > 0 && (
        <p className="stale-note" role="status">
          {failed
            ? `Stale: ${staleCount} of ${total} layers are from the previous configuration, not this one (the charts are shown faint).`
            : `${total - staleCount} of ${total} layers recomputed so far; the others still show the previous configuration.`}
        </p>
      )}
      <div data-export="variance">
      <VarianceChart
        a={a.layers}
        b={bShown?.layers}
        theoryA={a.theory}
        theoryB={bShown?.theory}
        showTheory={view.showTheory}
        focused={view.focused === null ? null : view.focused - 1}
        onFocus={onFocus}
        labelA={labelA}
        labelB={labelB}
        width={width}
        height={present ? 400 : 300}
      />
      </div>
      <div data-export="histograms">
      <HistogramGrid
        a={a.layers}
        b={bShown?.layers}
        depth={a.shapes.length}
        which={view.which}
        logCounts={view.logCounts}
        sharedAxis={view.sharedAxis}
        act={a.config.act}
        actB={bShown?.config.act}
        labelA={labelA}
        labelB={labelB}
        width={width}
        cellHeight={present ? 150 : undefined}
        maxCells={present ? 15 : undefined}
        pending={pending}
      />
      </div>
      {isConv && (
        <section aria-label="Variance by position" data-export="positions">
          <div className="field inline">
            <label htmlFor="map-layer">Position map of layer</label>
            <input id="map-layer" type="number" min={1} max={a.shapes.length} value={mapLayer} onChange={(e) => setView({ mapLayer: Math.max(1, Math.min(a.shapes.length, Number(e.target.value) || 1)) })} />
          </div>
          <PositionMap layer={a.layers[mapLayer - 1]} label={labelA} width={Math.min(width, 640)} pending={pending} />
          {bShown && <PositionMap layer={bShown.layers[mapLayer - 1]} label={labelB} width={Math.min(width, 640)} pending={pending} />}
        </section>
      )}
      <StatsTable a={a.layers} b={bShown?.layers} theoryA={a.theory} theoryB={bShown?.theory} labelA={labelA} labelB={labelB} />
    </div>
  );
}

/** The whole page; `embed=1` hides the controls, `hide=...` chosen panels, `present=1` enlarges for a projector. */
export function App() {
  const flags = useApp((s) => s.flags);
  const setFlags = useApp((s) => s.setFlags);
  const shown = (p: PanelName) => !flags.hide.includes(p);
  const className = ['app', flags.embed ? 'embed' : '', flags.present ? 'present' : ''].filter(Boolean).join(' ');
  return (
    <div className={className}>
      <header className="top">
        <h1>
          initscope <small>see what weight initialization does to a deep network</small>
        </h1>
        <div className="top-actions">
          <button type="button" aria-pressed={flags.present} onClick={() => setFlags({ present: !flags.present })}>
            Present
          </button>
          <CopyLink />
        </div>
      </header>
      {!flags.embed && (
        <aside className="controls" aria-label="Controls">
          <ErrorBoundary what="controls">
            {shown('presets') && <Presets />}
            {shown('network') && <NetworkPanel />}
            {shown('activation') && <ActivationPanel />}
            {shown('init') && <InitPanel side="a" />}
            {shown('compare') && <ComparePanel />}
            {shown('data') && <DataPanel />}
            {shown('view') && <ViewPanel />}
            <ExportPanel />
            <CodePanel />
          </ErrorBoundary>
        </aside>
      )}
      <main className="main">
        <Notice />
        <Status />
        <ErrorBoundary what="explanation">
          <Story />
        </ErrorBoundary>
        <ErrorBoundary what="charts">
          <Charts />
        </ErrorBoundary>
      </main>
    </div>
  );
}
