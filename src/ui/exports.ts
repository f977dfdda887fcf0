/** Downloads of what the page shows: charts as SVG and PNG, the table as CSV, the results as simulate's JSON. */
import { runReport } from '../engine/report';
import type { RunResult } from '../engine/simulate';
import { encodeRun } from '../link/codec';
import type { SideResult } from '../state/store';

/** Offers `content` as a file download. */
export function download(name: string, content: Blob): void {
  const url = URL.createObjectURL(content);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A complete result of one side, or null while layers are missing. */
export function completeResult(side: SideResult | null): RunResult | null {
  if (!side || side.stale.some(Boolean) || side.layers.some((l) => !l || !l.gradient)) return null;
  return { config: side.config, cost: side.cost, input: side.input!, layers: side.layers as RunResult['layers'] };
}

/** The results in simulate's JSON schema: `{"runs": [{label, link, config, ...}]}`. */
export function resultsJson(a: RunResult, b: RunResult | null): string {
  const runs = [runReport('A', encodeRun(a.config), a)];
  if (b) runs.push(runReport('B', encodeRun(b.config), b));
  return JSON.stringify({ runs }, null, 1);
}

function csvCell(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const t = String(v ?? '');
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** The per-layer table as CSV with full-precision numbers (empty cells for Inf and NaN). */
export function tableCsv(a: RunResult, b: RunResult | null): string {
  const cols = ['fan_in', 'weight_std', 'expected_std', 'pre_variance', 'theory_pre_variance', 'post_mean_square', 'zero_fraction', 'nonfinite', 'gradient_mean_square', 'theory_gradient_mean_square'];
  const head = ['layer', ...cols.map((c) => `A_${c}`), ...(b ? cols.map((c) => `B_${c}`) : [])];
  const row = (r: RunResult, i: number) => {
    const l = r.layers[i];
    return [l.fanIn, l.weight.std, l.weight.expectedStd, l.pre.variance, l.theory.preVariance, l.post.meanSquare, l.post.zeroFraction, l.pre.nonFinite, l.gradient?.meanSquare, l.theory.gradientMeanSquare];
  };
  const lines = [head.join(',')];
  for (let i = 0; i < a.layers.length; i++) lines.push([i + 1, ...row(a, i), ...(b && b.layers[i] ? row(b, i) : [])].map(csvCell).join(','));
  return lines.join('\n') + '\n';
}

/** A chart's SVG elements as one standalone SVG document with a title, stacked vertically on white. */
export function chartSvg(container: Element, title: string): { svg: string; width: number; height: number } {
  const parts = Array.from(container.querySelectorAll('svg')).filter((s) => s.getBoundingClientRect().width > 0);
  const pad = 8;
  const titleHeight = 28;
  let y = titleHeight;
  let width = 0;
  const inner: string[] = [];
  const serializer = new XMLSerializer();
  for (const s of parts) {
    const r = s.getBoundingClientRect();
    const clone = s.cloneNode(true) as SVGSVGElement;
    clone.setAttribute('x', String(pad));
    clone.setAttribute('y', String(y));
    clone.setAttribute('width', String(r.width));
    clone.setAttribute('height', String(r.height));
    inner.push(serializer.serializeToString(clone));
    y += r.height + pad;
    width = Math.max(width, r.width + 2 * pad);
  }
  const esc = title.replace(/[<&>]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/><text x="${pad}" y="20" font-size="15" font-weight="600">${esc}</text>${inner.join('')}</svg>`;
  return { svg, width, height: y };
}

/** Renders an SVG document to a PNG at `scale` times its size. */
export async function svgToPng(svg: string, width: number, height: number, scale = 2): Promise<Blob> {
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(width * scale);
  canvas.height = Math.ceil(height * scale);
  const ctx = canvas.getContext('2d')!;
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}
