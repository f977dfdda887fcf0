/**
 * The engine worker's entry: wires the worker scope to the handler. Everything else is in handler.ts.
 */
import { createHandler } from './handler';
import { lazyPool, poolSize } from './pool';
import type { Reply, Request } from './protocol';

// The main tsconfig has the DOM lib, where `self` is a Window; a `/// <reference lib="webworker" />`
// would add the worker globals to every file of the program. This cast names the three members used.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(reply: Reply): void;
  close(): void;
};

// One pool worker per hardware thread (capped), where this scope can make workers at all.
const threads = typeof navigator === 'object' ? navigator.hardwareConcurrency : 1;
const pool = lazyPool(typeof Worker === 'function' ? poolSize(threads) : 0);
const handle = createHandler((reply) => scope.postMessage(reply), { close: () => scope.close(), pool: () => pool.get() });
scope.onmessage = (event) => handle(event.data);
