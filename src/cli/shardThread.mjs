// Starts src/cli/shardThread.ts in a worker thread: the thread does not inherit the parent's tsx
// loader, so it registers one before importing the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./shardThread.ts');
