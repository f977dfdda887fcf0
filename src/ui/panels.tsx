/** The builder panels: every key of the link contract has a control here. */
import { useCallback, useState } from 'react';
import { ACTIVATIONS, DATAS, LIMITS, layerShapes, usesDist, usesFan, type Config, type RunConfig } from '../engine/schema';
import { weightRule } from '../engine/initializers';
import { resolveB } from '../link/codec';
import type { AppState } from '../state/store';
import type { Side } from '../worker/protocol';
import { Check, NumberField, Panel, Radios, Select, Slider, TextField } from './controls';
import { INIT_OPTIONS, optionFor } from './initOptions';
import { STORY } from './presets';
import { sameFields, useApp, useAppEqual } from './useApp';

// The menus' options, made once: the Select makes its option elements once per options array.
const ACTIVATION_OPTIONS = ACTIVATIONS.map((a) => ({ value: a, label: a }));
const INITIALIZER_OPTIONS = INIT_OPTIONS.map((o) => ({ value: o.id, label: o.label, group: o.group }));
const DATA_OPTIONS = DATAS.map((d) => ({ value: d, label: d === 'normal' ? 'normal N(0, 1)' : d === 'uniform' ? 'uniform, unit variance' : 'positive |N(0, 1)|' }));

/** The run configuration of a side: A, or B as A with its overrides. */
function sideConfig(s: AppState, side: Side): RunConfig {
  return side === 'a' ? s.config.a : (resolveB(s.config) ?? s.config.a);
}

function pick<K extends keyof RunConfig>(c: RunConfig, keys: readonly K[]): Pick<RunConfig, K> {
  const out = {} as Pick<RunConfig, K>;
  for (const k of keys) out[k] = c[k];
  return out;
}

/**
 * The keys a panel shows of one side, and its edit function. A panel redraws when one of its own
 * keys changes, not on every edit of another panel's key.
 */
function useSide<K extends keyof RunConfig>(side: Side, keys: readonly K[]): { config: Pick<RunConfig, K>; edit(patch: Partial<RunConfig>): void } {
  const config = useAppEqual((s) => pick(sideConfig(s, side), keys), sameFields);
  const editSide = useApp((s) => s.edit);
  const edit = useCallback((patch: Partial<RunConfig>) => editSide(side, patch), [editSide, side]);
  return { config, edit };
}

const NETWORK_KEYS = ['net', 'depth', 'width', 'input', 'kernel', 'stride', 'pad', 'widths'] as const;
const ACTIVATION_KEYS = ['act', 'slope'] as const;
const INIT_KEYS = ['init', 'scale', 'fan', 'dist', 'chainer', 'bias', 'biasStd', 'biasInit'] as const;
const DATA_KEYS = ['data', 'n', 'nets', 'seed'] as const;

/** The first layer's weight formula of each configuration and side, computed once per configuration object. */
const FORMULA_OF: Record<Side, WeakMap<Config, string | null>> = { a: new WeakMap(), b: new WeakMap() };

function firstFormula(s: AppState, side: Side): string | null {
  let formula = FORMULA_OF[side].get(s.config);
  if (formula === undefined) {
    const c = sideConfig(s, side);
    const first = layerShapes(c)[0];
    formula = first ? weightRule(c, first).formula : null;
    FORMULA_OF[side].set(s.config, formula);
  }
  return formula;
}

/** Network family, depth, width, input size, CNN kernel, stride and padding, per-layer widths. */
export function NetworkPanel() {
  const { config: c, edit } = useSide('a', NETWORK_KEYS);
  const widthMax = c.net === 'mlp' ? LIMITS.width.max : LIMITS.channels.max;
  return (
    <Panel title="Network">
      <Radios
        legend="Type"
        value={c.net}
        options={[
          { value: 'mlp', label: 'MLP' },
          { value: 'cnn', label: 'CNN' },
        ]}
        onChange={(net) => edit({ net })}
      />
      <Slider label="Depth (weight layers)" value={c.depth} min={1} max={LIMITS.depth.max} onChange={(depth) => edit({ depth })} />
      <NumberField label={c.net === 'mlp' ? 'Width (units per layer)' : 'Channels per layer'} value={c.width} integer min={1} max={widthMax} onChange={(width) => edit({ width, widths: null })} />
      {c.net === 'mlp' ? (
        <NumberField label="Input dimension" value={c.input[0]} integer min={1} max={LIMITS.inputDim.max} onChange={(d) => edit({ input: [d] })} />
      ) : (
        <>
          <TextField
            label="Input C x H x W"
            value={c.input.join('x')}
            hint="e.g. 3x32x32"
            onCommit={(t) => {
              const parts = t.toLowerCase().split('x').map(Number);
              edit({ input: parts.length === 3 && parts.every(Number.isInteger) ? parts : [NaN] });
            }}
          />
          <div className="row">
            <NumberField label="Kernel" value={c.kernel} integer min={1} max={LIMITS.kernel.max} onChange={(kernel) => edit({ kernel })} />
            <NumberField label="Stride" value={c.stride} integer min={1} max={LIMITS.stride.max} onChange={(stride) => edit({ stride })} />
            <NumberField label="Padding" value={c.pad} integer min={0} max={LIMITS.pad.max} onChange={(pad) => edit({ pad })} />
          </div>
        </>
      )}
      <TextField
        label="Per-layer widths (optional)"
        value={c.widths ? c.widths.join(',') : ''}
        placeholder="e.g. 512,256,128"
        hint="overrides depth and width"
        onCommit={(t) => {
          const text = t.trim();
          if (text === '') edit({ widths: null });
          else edit({ widths: text.split(',').map((v) => Number(v.trim())) });
        }}
      />
    </Panel>
  );
}

/** The activation, with the slope for leaky ReLU. */
export function ActivationPanel() {
  const { config: c, edit } = useSide('a', ACTIVATION_KEYS);
  return (
    <Panel title="Activation">
      <Select label="Activation" value={c.act} options={ACTIVATION_OPTIONS} onChange={(act) => edit({ act })} />
      {c.act === 'leaky_relu' && <NumberField label="Negative slope" value={c.slope} step={0.01} onChange={(slope) => edit({ slope })} />}
    </Panel>
  );
}

/** The initializer menu, scale, fan, distribution and the Chainer wscale rule, with the live first-layer std. */
export function InitPanel({ side }: { side: Side }) {
  const { config: c, edit } = useSide(side, INIT_KEYS);
  const [preferred, setPreferred] = useState<string | null>(null);
  // optionFor reads only the keys of the options' patches (init, dist, biasInit), all in INIT_KEYS.
  const option = optionFor(c as RunConfig, preferred);
  // A string: the panel redraws when the formula reads differently, not for every edit of the network.
  const formula = useApp((s) => firstFormula(s, side));
  const name = side === 'a' ? 'A' : 'B';
  return (
    <Panel title={side === 'a' ? 'Initialization' : 'Initialization of B'}>
      <Select
        label={`Initializer${side === 'b' ? ' (B)' : ''}`}
        value={option?.id ?? INIT_OPTIONS[0].id}
        options={INITIALIZER_OPTIONS}
        onChange={(id) => {
          const o = INIT_OPTIONS.find((x) => x.id === id)!;
          setPreferred(id);
          edit(o.patch);
        }}
      />
      <div className="row">
        <NumberField
          label={c.init === 'wscale' ? 'wscale' : c.init === 'normal' ? 'Scale (std)' : c.init === 'uniform' ? 'Scale (bound)' : 'Scale'}
          value={c.scale}
          min={0}
          step="any"
          onChange={(scale) => edit({ scale })}
        />
        {c.init === 'wscale' && (
          <button type="button" className="small" onClick={() => edit({ scale: Math.SQRT2 })} title="wscale = math.sqrt(2)">
            sqrt(2)
          </button>
        )}
      </div>
      {usesFan(c.init) && (
        <Radios
          legend="Fan"
          value={c.fan}
          options={[
            { value: 'in', label: 'fan_in' },
            { value: 'out', label: 'fan_out' },
          ]}
          onChange={(fan) => edit({ fan })}
        />
      )}
      {usesDist(c.init) && (
        <Radios
          legend="Distribution"
          value={c.dist}
          options={[
            { value: 'normal', label: 'normal' },
            { value: 'truncated', label: 'truncated (Keras)' },
          ]}
          onChange={(dist) => edit({ dist })}
        />
      )}
      {c.init === 'wscale' && (
        <Radios
          legend="Chainer release rule"
          value={c.chainer}
          options={[
            { value: '1.8', label: 'v1.0-v1.8.2: std = wscale/sqrt(fan_in)' },
            { value: '1.9', label: 'v1.9.0-v1.24.0: std = sqrt(wscale)/sqrt(fan_in)' },
          ]}
          onChange={(chainer) => edit({ chainer })}
        />
      )}
      <div className="row">
        <NumberField label="Bias" value={c.bias} step="any" onChange={(bias) => edit({ bias })} />
        <NumberField label="Bias std" value={c.biasStd} min={0} step="any" onChange={(biasStd) => edit({ biasStd })} />
      </div>
      <Radios
        legend="Bias draw"
        value={c.biasInit}
        options={[
          { value: 'normal', label: 'bias + N(0, std^2)' },
          { value: 'torch', label: 'PyTorch U[-1/sqrt(fan_in), +]' },
        ]}
        onChange={(biasInit) => edit({ biasInit })}
      />
      {formula !== null && (
        <p className="formula" aria-live="polite">
          {name}, layer 1: <code>{formula}</code>
        </p>
      )}
    </Panel>
  );
}

function randomSeed(): string {
  const bytes = new Uint8Array(4);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Input distribution, samples, networks, seed; a new-seed button apart from reset. */
export function DataPanel() {
  const { config: c, edit } = useSide('a', DATA_KEYS);
  const setConfig = useApp((s) => s.loadLink);
  return (
    <Panel title="Data">
      <Select
        label="Input distribution"
        value={c.data}
        options={DATA_OPTIONS}
        onChange={(data) => edit({ data })}
      />
      <div className="row">
        <NumberField label="Samples n" value={c.n} integer min={LIMITS.n.min} max={LIMITS.n.max} onChange={(n) => edit({ n })} />
        <NumberField label="Networks" value={c.nets} integer min={1} max={LIMITS.nets.max} onChange={(nets) => edit({ nets })} />
      </div>
      <TextField label="Seed" value={c.seed} onCommit={(seed) => edit({ seed })} />
      <div className="row">
        <button type="button" onClick={() => edit({ seed: randomSeed() })}>
          New seed
        </button>
        <button type="button" onClick={() => setConfig(STORY.link)} title="Back to the first screen's configuration">
          Reset all
        </button>
      </div>
    </Panel>
  );
}

/** Comparison mode: B as overrides of A. */
export function ComparePanel() {
  const comparing = useApp((s) => s.config.b !== null);
  const setComparison = useApp((s) => s.setComparison);
  const initA = useApp((s) => s.config.a.init);
  return (
    <Panel title="Compare">
      <Check
        label="Compare with B (same seed, same draws)"
        checked={comparing}
        onChange={(on) => setComparison(on ? (initA === 'lecun_normal' ? { init: 'he_normal' } : { init: 'lecun_normal' }) : null)}
      />
      {comparing && <InitPanel side="b" />}
    </Panel>
  );
}

/** View options: pre or post, log counts, shared axis, theory. */
export function ViewPanel() {
  const view = useApp((s) => s.view);
  const setView = useApp((s) => s.setView);
  return (
    <Panel title="View">
      <Radios
        legend="Histograms of"
        value={view.which}
        options={[
          { value: 'pre', label: 'pre-activation y' },
          { value: 'post', label: 'post-activation phi(y)' },
        ]}
        onChange={(which) => setView({ which })}
      />
      <Check label="Log counts" checked={view.logCounts} onChange={(logCounts) => setView({ logCounts })} />
      <Check label="One x-axis for all layers" checked={view.sharedAxis} onChange={(sharedAxis) => setView({ sharedAxis })} />
      <Check label="Show theory" checked={view.showTheory} onChange={(showTheory) => setView({ showTheory })} />
    </Panel>
  );
}
