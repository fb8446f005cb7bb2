// The part of WebAssembly's JavaScript API that core uses (the wasm kernels in core/linalg,
// libhdf5's errors in h5Thread). Node provides the global; TypeScript declares it only in
// the DOM and webworker libs, which core's project leaves out (tsconfig.base.json), and
// @types/node does not declare it. Shapes as in TypeScript's lib.dom.d.ts.
declare namespace WebAssembly {
  // An opaque compiled module (and merged with @types/emscripten's empty declaration).
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Module {}
  const Module: { prototype: Module; new (bytes: ArrayBufferView | ArrayBuffer): Module };

  interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
  interface Memory { readonly buffer: ArrayBuffer; grow(delta: number): number }
  const Memory: { prototype: Memory; new (descriptor: MemoryDescriptor): Memory };

  interface Global { value: unknown; valueOf(): unknown }
  const Global: { prototype: Global };

  type ExportValue = ((...args: never[]) => unknown) | Global | Memory;
  type Imports = Record<string, Record<string, ExportValue | number>>;
  type Exports = Record<string, ExportValue>;
  interface Instance { readonly exports: Exports }
  const Instance: { prototype: Instance; new (module: Module, imports?: Imports): Instance };

  type RuntimeError = Error;
  const RuntimeError: { prototype: RuntimeError; new (message?: string): RuntimeError };
}
