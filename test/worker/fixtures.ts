/** Shared fixtures of the worker tests: small configurations and replies as short labels. */
import { expect } from 'vitest';
import { defaultRun, validateRun, type RunConfig } from '../../src/engine/schema';
import type { Reply, Request, Side } from '../../src/worker/protocol';
import type { RunList } from '../../src/worker/client';

/** The default configuration with overrides, validated. */
export const config = (over: Partial<RunConfig>) => validateRun({ ...defaultRun(), ...over }).config;

/** A Worker the test speaks for: it records requests, and `emit` delivers a reply at once. */
export class ManualWorker extends EventTarget {
  terminated = false;
  readonly received: Request[] = [];
  postMessage(request: Request): void {
    this.received.push(structuredClone(request));
  }
  terminate(): void {
    this.terminated = true;
  }
  emit(reply: Reply): void {
    this.dispatchEvent(new MessageEvent('message', { data: reply }));
  }
}

/** Resolves once both sides of run `id` have a layer among `replies` (which keep coming in). */
export async function underWay(replies: Reply[], id: number): Promise<void> {
  while (!(['a', 'b'] as const).every((side) => replies.some((r) => r.id === id && r.type === 'forward' && r.side === side))) await new Promise((r) => setImmediate(r));
}

/** A 4-layer, 16-unit MLP over 8 samples (milliseconds per run), with overrides. */
export function small(over: Partial<RunConfig> = {}): RunConfig {
  const { config, problems } = validateRun({ ...defaultRun(), depth: 4, width: 16, input: [16], n: 8, ...over });
  expect(problems).toEqual([]);
  return config;
}

/** Network A alone. */
export const runA: RunList = [{ side: 'a', config: small() }];
/** A, then B with LeCun instead of He. */
export const runAB: RunList = [
  { side: 'a', config: small() },
  { side: 'b', config: small({ init: 'lecun_normal' }) },
];

/** A reply as a short label: `start a`, `forward a 1`, `backward b 4`, `done`. */
export function label(r: Reply): string {
  switch (r.type) {
    case 'start':
      return `start ${r.side}`;
    case 'forward':
      return `forward ${r.side} ${r.layer.index}`;
    case 'backward':
      return `backward ${r.side} ${r.index}`;
    default:
      return r.type;
  }
}

/** The labels one complete side of a depth-L run produces, in order. */
export function sideLabels(side: Side, depth: number): string[] {
  const out = [`start ${side}`];
  for (let l = 1; l <= depth; l++) out.push(`forward ${side} ${l}`);
  for (let l = depth; l >= 1; l--) out.push(`backward ${side} ${l}`);
  return out;
}

/** True for the reply that ends run `id`. */
export const terminal = (id: number) => (r: Reply) =>
  r.id === id && (r.type === 'done' || r.type === 'cancelled' || r.type === 'error');

/** Several turns of the event loop: time enough for anything not stopped to arrive. */
export const settle = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));
