/**
 * Which restore each document's person has been told of, kept in the data directory so that a restore
 * is told once across runs: one that arrived while Meshpad was closed, or before any window of this
 * run showed its document, is told when a window next opens it; one already told is not told again.
 */
import type { RestoreNotice } from '../../shared/api'
import { JsonFile } from '../shell/json-file'

/** Documents remembered; past this the oldest told are forgotten (at worst told again once). */
const MAX_DOCS = 10_000
const MAX_KEY = 200

type Told = Readonly<Record<string, string>>

const validTold = (raw: unknown): Told | null => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null
  const entries = Object.entries(raw).filter(
    ([doc, key]) => doc.length <= MAX_KEY && typeof key === 'string' && key.length <= MAX_KEY,
  )
  return Object.fromEntries(entries.slice(-MAX_DOCS)) as Told
}

/** A restore's identity: who restored and when (two restores of one version are two). */
export const restoreKey = (notice: RestoreNotice): string => `${notice.device}@${notice.at}`

export class ToldRestores {
  private readonly file: JsonFile<Told>
  /** Document → the key of the last restore told, in the order they were told (oldest first). */
  private readonly told = new Map<string, string>()
  readonly ready: Promise<void>

  constructor(dataDir: string, onDamaged: (message: string) => void) {
    this.file = new JsonFile(dataDir, 'told-restores.json', validTold, {})
    this.ready = this.file.read(onDamaged).then((stored) => {
      for (const [doc, key] of Object.entries(stored)) this.told.set(doc, key)
    })
  }

  isTold(docId: string, notice: RestoreNotice): boolean {
    return this.told.get(docId) === restoreKey(notice)
  }

  /** Remembers that `notice` was told; a write that fails only means it may be told again. */
  markTold(docId: string, notice: RestoreNotice, onError: (message: string) => void): void {
    this.told.delete(docId)
    this.told.set(docId, restoreKey(notice))
    while (this.told.size > MAX_DOCS) this.told.delete(this.told.keys().next().value!)
    this.file.write(Object.fromEntries(this.told)).catch((err: Error) => onError(err.message))
  }

  flush(): Promise<void> {
    return this.file.flush()
  }
}
