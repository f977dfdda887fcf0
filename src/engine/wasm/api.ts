/**
 * The few WebAssembly members the engine's modules use, typed here because the engine's tsconfig
 * has no DOM lib.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** Bytes per WebAssembly memory page. */
const PAGE = 65536;

/** Bytes rounded up to a whole cache line (64 bytes), where the hosts lay out their buffers. */
export const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** Grows `memory` to hold at least `bytes`; the error names the module (`what`). */
export function growTo(memory: WasmMemory, bytes: number, what: string): void {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  try {
    memory.grow(Math.ceil((bytes - have) / PAGE));
  } catch (e) {
    throw new Error(`${what}: cannot grow memory to ${bytes} bytes: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The exports of a module of `bytes`, instantiated with the `abort` import every module here has; throws where it is refused. */
export function instantiate(api: WasmApi, bytes: Uint8Array, what: string): unknown {
  const imports = {
    env: {
      abort: () => {
        throw new Error(`${what}: abort`);
      },
    },
  };
  return new api.Instance(new api.Module(bytes), imports).exports;
}
