/**
 * The typed messages between the page and the engine worker. Results are small: per-layer
 * statistics and bin counts, never raw activations.
 */
import type { Cost, LayerShape, RunConfig } from '../engine/schema';
import type { GradientStats, LayerResult } from '../engine/simulate';
import type { Stats } from '../engine/stats';
import type { TheoryLayer } from '../engine/theory';

/** Which configuration of a comparison a message is about. */
export type Side = 'a' | 'b';

/** Page to worker. */
export type Request =
  /** Run these configurations (A, then B if present, or both at once on the pool); a newer run supersedes every older one. */
  | { type: 'run'; id: number; runs: { side: Side; config: RunConfig }[] }
  /** Stop run `id` between two layers (the client now terminates a busy worker instead; the handler still honours this). */
  | { type: 'cancel'; id: number }
  /** Test-only fault injection: throw inside the worker (`error`) or while handling run `id`. */
  | { type: 'crash'; mode: 'throw' | 'exit' };

/** The configurations of one run request: A, then B if present. */
export type RunList = Extract<Request, { type: 'run' }>['runs'];

/**
 * Worker to page, for one run: accepted; for each side start, forward x depth, backward x depth, in
 * that order; then done. The sides' replies interleave when A and B run side by side on the pool. `accepted` is posted as soon as the worker takes the run, at once when it was
 * idle: the client's sign that the worker is alive (it is not passed on to the page).
 */
export type Reply =
  | { type: 'accepted'; id: number }
  | { type: 'start'; id: number; side: Side; config: RunConfig; cost: Cost; shapes: LayerShape[]; theory: TheoryLayer[]; input: Stats }
  | { type: 'forward'; id: number; side: Side; layer: LayerResult }
  | { type: 'backward'; id: number; side: Side; index: number; gradient: GradientStats }
  /**
   * Every `beatMs` (BEAT_MS) while the engine worker waits on its pool for run `id`: it computes
   * nothing itself then, so this is its sign of life between layers that may take long. `last`
   * ends them: the worker computes in its own thread again, or ends the run.
   */
  | { type: 'beat'; id: number; last?: boolean }
  /** `workers`: the pool workers that computed the run, 1 when the engine worker computed it alone. */
  | { type: 'done'; id: number; ms: number; workers?: number }
  | { type: 'cancelled'; id: number }
  | { type: 'error'; id: number; message: string };

/** How often the engine worker sends `beat` while it waits on its pool, in ms. */
export const BEAT_MS = 1000;
