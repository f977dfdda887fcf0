/** Export: each chart as SVG and PNG, the table as CSV, the results as JSON in simulate's schema. */
import { useState } from 'react';
import { Panel } from './controls';
import { chartSvg, completeResult, download, resultsJson, svgToPng, tableCsv } from './exports';
import { useApp } from './useApp';

const CHARTS = [
  { id: 'variance', title: 'Variance and gradient by depth' },
  { id: 'histograms', title: 'Per-layer histograms' },
  { id: 'positions', title: 'Variance by position' },
] as const;

/** The export buttons; they wait for a complete run so a file never holds half a result. */
export function ExportPanel() {
  const a = useApp((s) => s.results.a);
  const b = useApp((s) => (s.config.b ? s.results.b : null));
  const link = useApp((s) => s.link);
  const [message, setMessage] = useState<string | null>(null);
  const ra = completeResult(a);
  const rb = b ? completeResult(b) : null;
  const ready = ra !== null && (b === null || rb !== null);
  const chart = async (id: string, title: string, png: boolean) => {
    const el = document.querySelector(`[data-export="${id}"]`);
    if (!el) return setMessage(`There is no ${title.toLowerCase()} on the page now.`);
    const { svg, width, height } = chartSvg(el, `${title} - initscope #${link}`.slice(0, 300));
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
        <button type="button" className="small" disabled={!ready} onClick={() => download('initscope-layers.csv', new Blob([tableCsv(ra!, rb)], { type: 'text/csv' }))}>
          Table (CSV)
        </button>
        <button type="button" className="small" disabled={!ready} onClick={() => download('initscope-results.json', new Blob([resultsJson(ra!, rb)], { type: 'application/json' }))}>
          Results (JSON)
        </button>
      </div>
      {message && <p role="status">{message}</p>}
    </Panel>
  );
}
