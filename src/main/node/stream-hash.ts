/**
 * The SHA-256 of a replica's op stream as provenance.ts extends it, in one of two kinds:
 *
 * - native (node:crypto): the fastest, but its state cannot leave the process;
 * - resumable (hash-wasm, whose `save()`/`load()` give and take the state: 116 bytes): a quarter of the
 *   native speed, so it is used only where a state is worth keeping across a restart (a document with a
 *   long history, whose stream would otherwise be hashed from its first op again: that reads the whole
 *   stored history, a replay of it, ~0.5 s for a document with 200,000 logged ops).
 *
 * Node's SHA-256 has no way to save its state, and no other maintained package offers one; hash-wasm
 * checks that a saved state comes from its own build (a state from another one is refused, and the
 * stream is then hashed from the start, as without it).
 */
import { createHash, type Hash } from 'node:crypto'
import type { IHasher } from 'hash-wasm'
// Its UMD build is CommonJS without named exports that Node's ES module loader can see: only a default
// import reads it the same way under every loader (the bundles, tsx, vitest, Node's ESM).
import sha256 from 'hash-wasm/dist/sha256.umd.min.js'

export interface StreamHash {
  update(bytes: Uint8Array): void
  /** An independent copy of this state. */
  copy(): StreamHash
  /** The digest of what was given so far (the state stays usable). */
  digest(): Uint8Array
  /** The state, to load again later (`resumableHash`); null for a native hash. */
  save(): Uint8Array | null
}

class NativeHash implements StreamHash {
  constructor(private readonly hash: Hash = createHash('sha256')) {}
  update(bytes: Uint8Array): void {
    this.hash.update(bytes)
  }
  copy(): StreamHash {
    return new NativeHash(this.hash.copy())
  }
  digest(): Uint8Array {
    return new Uint8Array(this.hash.copy().digest())
  }
  save(): null {
    return null
  }
}

/**
 * One hash-wasm hasher serves every resumable state: each is kept as saved bytes and loaded into it
 * for each step (hashing is synchronous, so never two at once).
 */
let hasher: IHasher | null = null

/** Resolves once resumable hashes can be made (the WebAssembly module is compiled at import). */
export const resumableReady: Promise<boolean> = sha256.createSHA256().then(
  (h) => {
    hasher = h
    return true
  },
  () => false,
)

class ResumableHash implements StreamHash {
  constructor(
    private readonly wasm: IHasher,
    private state: Uint8Array,
  ) {}
  update(bytes: Uint8Array): void {
    this.wasm.load(this.state)
    this.wasm.update(bytes)
    this.state = this.wasm.save()
  }
  copy(): StreamHash {
    return new ResumableHash(this.wasm, this.state)
  }
  digest(): Uint8Array {
    this.wasm.load(this.state)
    return this.wasm.digest('binary')
  }
  save(): Uint8Array {
    return this.state.slice()
  }
}

export const nativeHash = (): StreamHash => new NativeHash()

/**
 * A resumable hash: fresh, or from a state `save()` gave. Null if hash-wasm is not ready yet, or the
 * state is not one of its build's (a caller then hashes from the start, natively).
 */
export function resumableHash(state?: Uint8Array): StreamHash | null {
  const wasm = hasher
  if (wasm === null) return null
  try {
    if (state) wasm.load(state)
    else wasm.init()
    return new ResumableHash(wasm, wasm.save())
  } catch {
    return null
  }
}
