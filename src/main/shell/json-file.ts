/**
 * A small JSON settings file in the app's data folder (window state, recent documents): read with a
 * validating parser, where a missing or damaged file gives the default, because such files are only a
 * convenience and must never stop the app; written atomically, one write at a time, in call order.
 */
import { join } from 'node:path'
import { writeFileAtomic } from '../storage/atomic-write'
import { errnoCode, nodeFs, type StorageFs } from '../storage/fs-layer'

export class JsonFile<T> {
  readonly path: string
  private writing: Promise<void> = Promise.resolve()

  constructor(
    dataDir: string,
    name: string,
    /** Turns the parsed JSON into a value, or null if it is not one (then `fallback` is used). */
    private readonly validate: (raw: unknown) => T | null,
    private readonly fallback: T,
    private readonly fs: StorageFs = nodeFs,
  ) {
    this.path = join(dataDir, name)
  }

  /** The stored value; `onDamaged` hears of a file that exists but cannot be used. */
  async read(onDamaged?: (message: string) => void): Promise<T> {
    let bytes: Uint8Array
    try {
      bytes = await this.fs.readFile(this.path)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') onDamaged?.(`Could not read ${this.path}: ${(err as Error).message}`)
      return this.fallback
    }
    let raw: unknown
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes))
    } catch {
      onDamaged?.(`Ignored ${this.path}: it is not valid JSON.`)
      return this.fallback
    }
    const value = this.validate(raw)
    if (value === null) onDamaged?.(`Ignored ${this.path}: its content is not what Meshpad wrote.`)
    return value ?? this.fallback
  }

  /** Resolves once `value` is on disk; rejects with a StorageError (disk full, permissions…). */
  write(value: T): Promise<void> {
    const data = new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n')
    const next = this.writing
      .catch(() => undefined)
      .then(() => writeFileAtomic(this.fs, this.path, data, { action: 'save settings to' }))
    this.writing = next
    return next
  }

  /** Waits for the last write (e.g. before quitting). */
  async flush(): Promise<void> {
    await this.writing.catch(() => undefined)
  }
}
