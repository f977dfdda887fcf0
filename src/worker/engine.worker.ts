/**
 * The engine worker's entry: wires the worker scope to the handler. Everything else is in handler.ts.
 */
import { createHandler } from './handler';
import type { Reply, Request } from './protocol';

// The main tsconfig has the DOM lib, where `self` is a Window; a `/// <reference lib="webworker" />`
// would add the worker globals to every file of the program. This cast names the three members used.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(reply: Reply): void;
  close(): void;
};

const handle = createHandler((reply) => scope.postMessage(reply), { close: () => scope.close() });
scope.onmessage = (event) => handle(event.data);
