/**
 * The numbers behind the charts as a table: the accessible alternative to every plot, and the one to
 * copy from. Layers not computed yet show an ellipsis, never a made-up number.
 */
import { memo } from 'react';
import type { LayerResult } from '../engine/simulate';
import type { TheoryLayer } from '../engine/theory';
import { formatPercent, formatPowerOfTen, formatValue, toNumber } from './numbers';
import { COLORS, FONT } from './theme';

/** Props of the per-layer statistics table; with `b` it shows A and B side by side. */
export interface StatsTableProps {
  a: (LayerResult | undefined)[];
  b?: (LayerResult | undefined)[];
  theoryA: TheoryLayer[];
  theoryB?: TheoryLayer[];
  labelA?: string;
  labelB?: string;
}

/** What a cell of a layer not computed yet shows. */
export const PENDING = '…';

const COLUMNS = [
  'fan-in',
  'weight std',
  'pre-activation variance',
  'theory',
  'zero fraction',
  'gradient mean square',
] as const;

/** The theory's Var[y]: the float64 value, or from logPreVariance when it over- or underflows. */
function theoryVariance(t: TheoryLayer | undefined): string {
  if (!t) return PENDING;
  const v = toNumber(t.preVariance);
  const lp = toNumber(t.logPreVariance);
  if (v > 0 && Number.isFinite(v)) return formatValue(v);
  if (Number.isFinite(lp)) return formatPowerOfTen(lp);
  return formatValue(v);
}

function cells(layer: LayerResult | undefined, theory: TheoryLayer | undefined): string[] {
  if (!layer) return [PENDING, PENDING, PENDING, theoryVariance(theory), PENDING, PENDING];
  return [
    Number.isFinite(toNumber(layer.fanIn)) ? String(layer.fanIn) : formatValue(layer.fanIn),
    formatValue(layer.weight?.std),
    formatValue(layer.pre?.variance),
    theoryVariance(theory ?? layer.theory),
    formatPercent(layer.post?.zeroFraction),
    layer.gradient ? formatValue(layer.gradient.meanSquare) : PENDING,
  ];
}

const cellStyle = { padding: '2px 8px', textAlign: 'right', fontVariantNumeric: 'tabular-nums' } as const;
const headStyle = { padding: '2px 8px', textAlign: 'right', fontWeight: 600, borderBottom: `1px solid ${COLORS.frame}` } as const;

interface RowProps {
  layer: number;
  /** The text of every cell after the layer number, A's then B's. */
  texts: string[];
}

function RowView({ layer, texts }: RowProps) {
  return (
    <tr>
      <th scope="row" style={{ ...cellStyle, fontWeight: 600 }}>
        {layer}
      </th>
      {texts.map((text, k) => (
        <td key={k} style={cellStyle}>
          {text}
        </td>
      ))}
    </tr>
  );
}

// Compared by text: a layer arriving (or its gradient, or a new run's equal theory) redraws only the rows that read differently.
const Row = memo(RowView, (p, q) => p.layer === q.layer && p.texts.length === q.texts.length && p.texts.every((t, i) => t === q.texts[i]));

function StatsTableView({ a, b, theoryA, theoryB, labelA, labelB }: StatsTableProps) {
  const comparing = b !== undefined;
  const depth = Math.max(a.length, theoryA.length, b?.length ?? 0, theoryB?.length ?? 0);
  const runs = comparing
    ? [
        { key: 'a', name: labelA ? `A: ${labelA}` : 'A', layers: a, theory: theoryA },
        { key: 'b', name: labelB ? `B: ${labelB}` : 'B', layers: b ?? [], theory: theoryB ?? [] },
      ]
    : [{ key: 'a', name: labelA ?? 'A', layers: a, theory: theoryA }];
  const pending = runs.some((r) => Array.from({ length: depth }, (_, i) => r.layers[i]).some((l) => !l || !l.gradient));

  return (
    <div style={{ fontFamily: FONT.family, fontSize: FONT.normal, color: COLORS.text }}>
      <table style={{ borderCollapse: 'collapse' }}>
        <caption style={{ textAlign: 'left', fontWeight: 600, paddingBottom: 4 }}>Per-layer statistics</caption>
        <colgroup>
          <col />
        </colgroup>
        {runs.map((r) => (
          <colgroup key={r.key} span={COLUMNS.length} />
        ))}
        <thead>
          {comparing && (
            <tr>
              <th scope="col" rowSpan={2} style={{ ...headStyle, verticalAlign: 'bottom' }}>
                layer
              </th>
              {runs.map((r) => (
                <th
                  key={r.key}
                  scope="colgroup"
                  colSpan={COLUMNS.length}
                  style={{ ...headStyle, textAlign: 'center', color: r.key === 'a' ? COLORS.a : '#a84a00' }}
                >
                  {r.name}
                </th>
              ))}
            </tr>
          )}
          <tr>
            {!comparing && (
              <th scope="col" style={headStyle}>
                layer
              </th>
            )}
            {runs.map((r) =>
              COLUMNS.map((c) => (
                <th key={`${r.key}-${c}`} scope="col" style={headStyle}>
                  {c}
                </th>
              )),
            )}
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: depth }, (_, i) => (
            <Row key={i} layer={i + 1} texts={runs.flatMap((r) => cells(r.layers[i], r.theory[i]))} />
          ))}
        </tbody>
      </table>
      <p style={{ margin: '4px 0 0', fontSize: FONT.small, color: COLORS.muted }}>
        {`Zero fraction: share of post-activations exactly 0. Theory: the mean-field Var[y].${
          pending ? ` ${PENDING} marks a value not computed yet (gradients come after the forward pass).` : ''
        }`}
      </p>
    </div>
  );
}

/** Per layer: fan-in, weight std, measured and predicted Var[y], post-activation zero fraction and E[(dL/dy)^2], for A and optionally B. */
export const StatsTable = memo(StatsTableView);
