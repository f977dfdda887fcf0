/** Export: each chart as SVG and PNG, the table as CSV, the results as JSON in simulate's schema. */
import { useState } from 'react';
import { Panel } from './controls';
import type { RunResult } from '../engine/simulate';
import type { AppState } from '../state/store';
import { chartSvg, completeResult, download, resultsJson, svgToPng, tableCsv } from './exports';
import { useApp, useAppStore } from './useApp';

const CHARTS = [
  { id: 'variance', title: 'Variance and gradient by depth' },
  { id: 'histograms', title: 'Per-layer histograms' },
  { id: 'positions', title: 'Variance by position' },
] as const;

/** The complete results of A and (in a comparison) B, or null while either is incomplete. */
function completeResults(s: AppState): { a: RunResult; b: RunResult | null } | null {
  const b = s.config.b ? s.results.b : null;
  const ra = completeResult(s.results.a);
  const rb = b ? completeResult(b) : null;
  return ra !== null && (b === null || rb !== null) ? { a: ra, b: rb } : null;
}

/** The export buttons; they wait for a complete run so a file never holds half a result. */
export function ExportPanel() {
  // A boolean, so the panel redraws when the run completes or restarts, not for every layer or edit;
  // the results and the link are read from the store when a button is pressed.
  const ready = useApp((s) => completeResults(s) !== null);
  const store = useAppStore();
  const [message, setMessage] = useState<string | null>(null);
  // Null only if a new run started between the last render and the press: then there is nothing to save.
  const withResults = (save: (r: { a: RunResult; b: RunResult | null }) => void) => () => {
    const r = completeResults(store.getState());
    if (r) save(r);
  };
  const chart = async (id: string, title: string, png: boolean) => {
    const el = document.querySelector(`[data-export="${id}"]`);
    if (!el) return setMessage(`There is no ${title.toLowerCase()} on the page now.`);
    const { svg, width, height } = chartSvg(el, `${title} - initscope #${store.getState().link}`.slice(0, 300));
    try {
      if (png) download(`initscope-${id}.png`, await svgToPng(svg, width, height));
      else download(`initscope-${id}.svg`, new Blob([svg], { type: 'image/svg+xml' }));
      setMessage(null);
    } catch (e) {
      setMessage(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return (
    <Panel title="Export" open={false}>
      {!ready && <p className="hint">Available when the run is complete.</p>}
      {CHARTS.map((c) => (
        <div className="row" key={c.id}>
          <span className="export-name">{c.title}</span>
          <button type="button" className="small" disabled={!ready} onClick={() => chart(c.id, c.title, false)}>
            SVG
          </button>
          <button type="button" className="small" disabled={!ready} onClick={() => chart(c.id, c.title, true)}>
            PNG
          </button>
        </div>
      ))}
      <div className="row">
        <button type="button" className="small" disabled={!ready} onClick={withResults(({ a, b }) => download('initscope-layers.csv', new Blob([tableCsv(a, b)], { type: 'text/csv' })))}>
          Table (CSV)
        </button>
        <button type="button" className="small" disabled={!ready} onClick={withResults(({ a, b }) => download('initscope-results.json', new Blob([resultsJson(a, b)], { type: 'application/json' })))}>
          Results (JSON)
        </button>
      </div>
      {message && <p role="status">{message}</p>}
    </Panel>
  );
}
