import type { TextChange, VersionVector } from './types'

// STUB: the real implementation is being written; signatures are final.
export class TextDoc {
  readonly replica: string
  constructor(replica: string) {
    this.replica = replica
  }
  get length(): number {
    throw new Error('not implemented')
  }
  toString(): string {
    throw new Error('not implemented')
  }
  localInsert(_index: number, _text: string): Uint8Array {
    throw new Error('not implemented')
  }
  localDelete(_index: number, _length: number): Uint8Array {
    throw new Error('not implemented')
  }
  applyRemote(_batch: Uint8Array): TextChange[] {
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
  static load(_bytes: Uint8Array, _replica: string): TextDoc {
    throw new Error('not implemented')
  }
}
