/**
 * hash-wasm's SHA-256 alone (18 KB): its index holds every algorithm it has, ~10 ms more to load at each
 * start. The same WebAssembly build as the index's, so the states it saves are the same.
 */
declare module 'hash-wasm/dist/sha256.umd.min.js' {
  const sha256: { createSHA256: typeof import('hash-wasm').createSHA256 }
  export default sha256
}
