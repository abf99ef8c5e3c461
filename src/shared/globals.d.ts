// The few runtime globals src/shared relies on. Every runtime Meshpad targets (Node ≥ 20, Electron's
// Chromium, any current browser) has them; src/shared is compiled without DOM or Node types, so they
// are declared here, narrowly, instead of pulling in either library.
declare class TextEncoder {
  encode(input?: string): Uint8Array
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number }
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean })
  decode(input?: Uint8Array): string
}
declare function queueMicrotask(callback: () => void): void
