// The part of WebAssembly's JavaScript API that core uses (the wasm kernels in core/linalg,
// libhdf5's errors in h5Thread). Node provides the global; TypeScript declares it only in
// the DOM and webworker libs, which core's project leaves out (tsconfig.base.json), and
// @types/node does not declare it. Shapes as in TypeScript's lib.dom.d.ts.
declare namespace WebAssembly {
  interface Module {}
  var Module: { prototype: Module; new (bytes: ArrayBufferView | ArrayBuffer): Module };

  interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
  interface Memory { readonly buffer: ArrayBuffer; grow(delta: number): number }
  var Memory: { prototype: Memory; new (descriptor: MemoryDescriptor): Memory };

  interface Global { value: unknown; valueOf(): unknown }
  var Global: { prototype: Global };

  type ImportValue = Function | Global | Memory | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, Function | Global | Memory>;
  interface Instance { readonly exports: Exports }
  var Instance: { prototype: Instance; new (module: Module, imports?: Imports): Instance };

  interface RuntimeError extends Error {}
  var RuntimeError: { prototype: RuntimeError; new (message?: string): RuntimeError };
}
