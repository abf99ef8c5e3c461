import type { VersionVector } from './types'

/** Wall-clock milliseconds. Injected so that tests are deterministic. */
export type Clock = () => number
export interface LwwOptions {
  readonly clock?: Clock
}
/** A key whose visible value changed; `value` undefined means the key was removed. */
export interface LwwChange<V> {
  readonly key: string
  readonly value: V | undefined
}

// STUB: the real implementation is being written; signatures are final. V must be JSON-serialisable.
export class LwwMap<V> {
  readonly replica: string
  constructor(replica: string, _options: LwwOptions = {}) {
    this.replica = replica
  }
  set(_key: string, _value: V): Uint8Array {
    throw new Error('not implemented')
  }
  delete(_key: string): Uint8Array {
    throw new Error('not implemented')
  }
  get(_key: string): V | undefined {
    throw new Error('not implemented')
  }
  has(_key: string): boolean {
    throw new Error('not implemented')
  }
  entries(): [string, V][] {
    throw new Error('not implemented')
  }
  applyRemote(_batch: Uint8Array): LwwChange<V>[] {
    throw new Error('not implemented')
  }
  version(): VersionVector {
    throw new Error('not implemented')
  }
  changesSince(_v: VersionVector): Uint8Array {
    throw new Error('not implemented')
  }
  pendingCount(): number {
    throw new Error('not implemented')
  }
  save(): Uint8Array {
    throw new Error('not implemented')
  }
  static load<V>(_bytes: Uint8Array, replica: string, options: LwwOptions = {}): LwwMap<V> {
    return new LwwMap<V>(replica, options)
  }
}
