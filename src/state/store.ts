/**
 * The app's state: the configuration, the view options, the run status and the streamed results.
 * A vanilla zustand store (STYLE.md 1), so the URL sync and the worker runner subscribe outside React.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { KEYS, formatValue, layerShapes, linkName, runCost, validateRun, SCALE_DEFAULTS, defaultInput, defaultWidth, type Config, type Problem, type RunConfig, type Cost, type LayerShape } from '../engine/schema';
import { configTheory, type GradientStats, type LayerResult } from '../engine/simulate';
import type { Stats } from '../engine/stats';
import type { TheoryLayer } from '../engine/theory';
import { decode, encode, overridesOf, resolveB, type ViewFlags } from '../link/codec';
import type { Reply, Side } from '../worker/protocol';

/** What the charts show of one side (A or B). */
export interface SideResult {
  config: RunConfig;
  cost: Cost;
  shapes: LayerShape[];
  theory: TheoryLayer[];
  input: Stats | null;
  /** Layer i at index i - 1: this run's result, or the previous run's while this one computes. */
  layers: (LayerResult | undefined)[];
  /** True where `layers` still holds the previous run's result. */
  stale: boolean[];
}

/** View options: what the charts draw. */
export interface ViewOptions {
  which: 'pre' | 'post';
  logCounts: boolean;
  sharedAxis: boolean;
  showTheory: boolean;
  /** The layer whose exact numbers are shown (hover or keyboard focus), 1-based. */
  focused: number | null;
  /** The conv layer whose position map is drawn, 1-based. */
  mapLayer: number;
}

/** The state of the current computation. */
export interface RunStatus {
  id: number;
  state: 'idle' | 'running' | 'done' | 'error' | 'cancelled';
  /** Completed steps (forward and backward layers of every side) over all steps. */
  progress: number;
  done: number;
  total: number;
  message: string | null;
  /** Milliseconds of the last completed run. */
  ms: number | null;
  /** Workers that computed the last completed run (1: the engine worker alone). */
  workers?: number;
}

/** Everything the app holds. */
export interface AppState {
  config: Config;
  /** The canonical link of `config` and `flags`. */
  link: string;
  /** Classroom flags of the link: embed, hidden panels, present. */
  flags: ViewFlags;
  /** Problems of the last link or edit: each bad key and the value used instead. */
  problems: Problem[];
  view: ViewOptions;
  run: RunStatus;
  results: Record<Side, SideResult | null>;
  /** Replaces the configuration (from a link or a preset); problems are shown in the notice. */
  setConfig(config: Config, problems?: Problem[]): void;
  /** Loads a link (hash, URL or bare string), keeping every good key and reporting the bad ones. */
  loadLink(text: string): void;
  /** Changes keys of A (or B's overrides with side 'b'); the result is validated, problems reported. */
  edit(side: Side, patch: Partial<RunConfig>): void;
  /** Turns comparison mode on (B = A with `patch`) or off (null). */
  setComparison(patch: Partial<RunConfig> | null): void;
  setView(patch: Partial<ViewOptions>): void;
  /** Changes the classroom flags (they travel in the link). */
  setFlags(patch: Partial<ViewFlags>): void;
  dismissProblems(): void;
  /** Applies a worker reply; replies of other runs than the current one are ignored. */
  receive(reply: Reply): void;
  /** Applies several replies in order, as one update of the store. */
  receiveAll(replies: Reply[]): void;
  /** Marks a new run as started. */
  startRun(id: number): void;
}

/**
 * Applies an edit to a run config with the same follow rules as the link (a new init takes its
 * default scale, a new net its default input and width). An edited value that validation rejects
 * is not applied: the user keeps what they had, and the problem says why.
 */
export function applyEdit(base: RunConfig, patch: Partial<RunConfig>): { config: RunConfig; problems: Problem[] } {
  const first = applyFollow(base, patch);
  // An edit that pushes the run over its budget would make validation lower other keys the user
  // set (n, nets, depth): refuse the edit instead, keep the configuration, and say what to lower.
  const patched = new Set((Object.keys(patch) as (keyof RunConfig)[]).map(linkName));
  const overBudget = first.problems.filter((p) => !patched.has(p.key) && /lower \S+ to \d+|one layer alone/.test(p.message));
  if (overBudget.length) {
    const cost = runCost({ ...base, ...patch } as RunConfig);
    const what = Object.entries(patch)
      .map(([k, v]) => `${linkName(k as keyof RunConfig)}=${formatValue(k as keyof RunConfig, v)}`)
      .join(', ');
    return {
      config: base,
      problems: overBudget.map((p) => ({
        key: p.key,
        message: `not changed: ${what} would cost ${cost.multiplyAdds.toExponential(2)} multiply-adds and ${(cost.bytes / 2 ** 20).toFixed(0)} MiB, over the per-run budget; ${p.message.replace(/^.*; (lower .*)$/, '$1')}`,
        used: usedOf(base, p.key),
      })),
    };
  }
  const rejected = (Object.keys(patch) as (keyof RunConfig)[]).filter((k) => first.problems.some((p) => p.key === linkName(k)));
  if (rejected.length === 0) return first;
  const kept: Partial<RunConfig> = { ...patch };
  for (const k of rejected) delete kept[k];
  const second = applyFollow(base, kept);
  const told = first.problems.flatMap((p) => {
    const k = rejected.find((key) => p.key === linkName(key));
    return k ? [{ ...p, used: formatValue(k, second.config[k]) }] : [];
  });
  return { config: second.config, problems: [...told, ...second.problems] };
}

/** The value a configuration has for a link key, in link form. */
function usedOf(c: RunConfig, link: string): string {
  const entry = KEYS.find((k) => k.link === link);
  return entry ? formatValue(entry.key, c[entry.key]) : '';
}

function applyFollow(base: RunConfig, patch: Partial<RunConfig>): { config: RunConfig; problems: Problem[] } {
  const next: Partial<RunConfig> = { ...base, ...patch };
  if (patch.init && patch.init !== base.init && patch.scale === undefined) next.scale = SCALE_DEFAULTS[patch.init];
  if (patch.net && patch.net !== base.net) {
    if (patch.input === undefined) next.input = defaultInput(patch.net);
    if (patch.width === undefined) next.width = defaultWidth(patch.net);
    if (patch.widths === undefined) next.widths = null;
  }
  if (patch.widths === undefined && patch.depth !== undefined && base.widths) next.widths = null;
  return validateRun(next);
}

function emptyRun(): RunStatus {
  return { id: 0, state: 'idle', progress: 0, done: 0, total: 0, message: null, ms: null };
}

/** Creates the store, starting from a link (or the default story when the link is empty). */
export function createAppStore(initialLink = ''): StoreApi<AppState> {
  const first = decode(initialLink);
  return createStore<AppState>()((set, get) => ({
    config: first.config,
    link: encode(first.config, first.view),
    flags: first.view,
    problems: first.problems,
    view: { which: 'pre', logCounts: false, sharedAxis: false, showTheory: true, focused: null, mapLayer: 1 },
    run: emptyRun(),
    results: { a: null, b: null },

    setConfig(config, problems = []) {
      set({ config, link: encode(config, get().flags), problems });
    },

    loadLink(text) {
      const { config, problems, view } = decode(text);
      set({ flags: view });
      get().setConfig(config, problems);
    },

    setFlags(patch) {
      const flags = { ...get().flags, ...patch };
      set({ flags, link: encode(get().config, flags) });
    },

    edit(side, patch) {
      const { config } = get();
      if (side === 'a') {
        const { config: a, problems } = applyEdit(config.a, patch);
        // B stays "A with these overrides": the overrides are applied to the new A.
        const nextB = config.b ? overridesOf(a, applyEdit(a, config.b).config) : null;
        get().setConfig({ a, b: nextB }, problems);
      } else {
        const b = resolveB(config) ?? config.a;
        const { config: nb, problems } = applyEdit(b, patch);
        get().setConfig({ a: config.a, b: overridesOf(config.a, nb) }, problems.map((p) => ({ ...p, key: `b.${p.key}` })));
      }
    },

    setComparison(patch) {
      const { config } = get();
      if (!patch) {
        get().setConfig({ a: config.a, b: null });
        return;
      }
      const { config: nb, problems } = applyEdit(config.a, patch);
      get().setConfig({ a: config.a, b: overridesOf(config.a, nb) }, problems);
    },

    setView(patch) {
      set({ view: { ...get().view, ...patch } });
    },

    dismissProblems() {
      set({ problems: [] });
    },

    startRun(id) {
      const { config, results } = get();
      const b = resolveB(config);
      // The new configuration's theory is cheap and known at once: draw it (and the explanation)
      // now; the previous run's layers stay as stale placeholders until this run recomputes them.
      const next = (side: Side, c: RunConfig | null): SideResult | null => {
        if (!c) return null;
        const previous = results[side];
        const shapes = layerShapes(c);
        const layers = shapes.map((_, i) => previous?.layers[i]);
        return { config: c, cost: runCost(c), shapes, theory: configTheory(c), input: previous?.input ?? null, layers, stale: layers.map((l) => l !== undefined) };
      };
      const total = 2 * (layerShapes(config.a).length + (b ? layerShapes(b).length : 0));
      set({ run: { ...get().run, id, state: 'running', progress: 0, done: 0, total, message: null }, results: { a: next('a', config.a), b: next('b', b) } });
    },

    receive(reply) {
      get().receiveAll([reply]);
    },

    receiveAll(replies) {
      // One store update for a batch of replies: the worker can answer faster than React can draw.
      let state: Pick<AppState, 'config' | 'run' | 'results'> = get();
      for (const reply of replies) state = applyReply(state, reply);
      const current = get();
      if (state.run !== current.run || state.results !== current.results) set({ run: state.run, results: state.results });
    },
  }));
}

type ReplyState = Pick<AppState, 'config' | 'run' | 'results'>;

/** The state after one worker reply; replies of other runs than the current one change nothing. */
export function applyReply(state: ReplyState, reply: Reply): ReplyState {
  if (reply.id !== state.run.id) return state;
  const step = (results: AppState['results']): ReplyState => {
    const done = state.run.done + 1;
    return { ...state, results, run: { ...state.run, done, progress: Math.min(1, done / Math.max(1, state.run.total)) } };
  };
  switch (reply.type) {
    case 'accepted':
    case 'beat':
      // The client keeps these to itself; nothing to show.
      return state;
    case 'start': {
      const previous = state.results[reply.side];
      const layers = Array.from({ length: reply.shapes.length }, (_, i) => previous?.layers[i]);
      const result: SideResult = {
        config: reply.config,
        cost: reply.cost,
        shapes: reply.shapes,
        theory: reply.theory,
        input: reply.input,
        layers,
        // Only what the previous run left is stale; empty layers are simply not computed yet.
        stale: layers.map((l) => l !== undefined),
      };
      const results = { ...state.results, [reply.side]: result };
      if (!state.config.b && reply.side === 'a') results.b = null;
      return { ...state, results };
    }
    case 'forward': {
      const r = state.results[reply.side];
      if (!r) return state;
      const layers = r.layers.slice();
      const stale = r.stale.slice();
      layers[reply.layer.index - 1] = reply.layer;
      stale[reply.layer.index - 1] = false;
      return step({ ...state.results, [reply.side]: { ...r, layers, stale } });
    }
    case 'backward': {
      const r = state.results[reply.side];
      const layer = r?.layers[reply.index - 1];
      if (!r || !layer) return state;
      const layers = r.layers.slice();
      layers[reply.index - 1] = { ...layer, gradient: reply.gradient as GradientStats };
      return step({ ...state.results, [reply.side]: { ...r, layers } });
    }
    case 'done':
      return { ...state, run: { ...state.run, state: 'done', progress: 1, ms: reply.ms, workers: reply.workers ?? 1 } };
    case 'cancelled':
      return { ...state, run: { ...state.run, state: 'cancelled' } };
    case 'error':
      return { ...state, run: { ...state.run, state: 'error', message: reply.message } };
  }
}
