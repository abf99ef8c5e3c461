/**
 * A DocStore in memory, for fast tests of code built on the store. `MemoryBacking` plays the disk: give
 * a new store the same backing to simulate a restart.
 */
import { assertDocId, type AppendOptions, type DocStore, type LoadedDoc } from './doc-store'
import { closedError } from './errors'

interface MemoryEntry {
  snapshot: Uint8Array | null
  history: Uint8Array[]
  records: Uint8Array[]
}

export type MemoryBacking = Map<string, MemoryEntry>

export class MemoryStore implements DocStore {
  readonly backing: MemoryBacking
  private closed = false

  constructor(backing: MemoryBacking = new Map()) {
    this.backing = backing
  }

  async list(): Promise<string[]> {
    this.check()
    return [...this.backing.keys()].sort()
  }

  async load(docId: string): Promise<LoadedDoc | null> {
    assertDocId(docId)
    this.check()
    const doc = this.backing.get(docId)
    if (!doc) return null
    return {
      snapshot: doc.snapshot?.slice() ?? null,
      history: doc.history.map((c) => c.slice()),
      records: doc.records.map((r) => r.slice()),
      warnings: [],
    }
  }

  async append(docId: string, records: readonly Uint8Array[], options: AppendOptions = {}): Promise<void> {
    assertDocId(docId)
    this.check()
    // An async function runs up to its first await at call time, so the call order is the stored order.
    this.entry(docId).records.push(...records.map((r) => r.slice()))
    options.written?.()
  }

  async writeSnapshot(
    docId: string,
    snapshot: Uint8Array,
    history: readonly Uint8Array[] = [],
  ): Promise<void> {
    assertDocId(docId)
    this.check()
    const entry = this.entry(docId)
    entry.snapshot = snapshot.slice()
    entry.history = history.map((c) => c.slice())
    entry.records = []
  }

  async remove(docId: string): Promise<void> {
    assertDocId(docId)
    this.check()
    this.backing.delete(docId)
  }

  /** Nothing to release: the backing is the disk, and holds no open files. */
  async release(docId: string): Promise<void> {
    assertDocId(docId)
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private entry(docId: string): MemoryEntry {
    let entry = this.backing.get(docId)
    if (!entry) {
      entry = { snapshot: null, history: [], records: [] }
      this.backing.set(docId, entry)
    }
    return entry
  }

  private check(): void {
    if (this.closed) throw closedError('The document store')
  }
}
