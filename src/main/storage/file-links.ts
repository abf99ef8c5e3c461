/**
 * Which document belongs to which file, kept in the data dir so that reopening a file reopens its
 * document with its history:
 *
 *   <data dir>/links.json          { "version": 1, "links": { "<real path>": "<doc ID>" } }
 *   <data dir>/bases/<docId>.bin   the base: the text last loaded from or saved to the file, as a CRDT
 *                                  state, with the hash of those bytes; external changes are diffed
 *                                  against it
 *
 * Both are written atomically. One FileLinks per data dir and process: writes are serialised here.
 */
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-write'
import { toStorageError } from './errors'
import { errnoCode, type StorageFs } from './fs-layer'
import { decodeSnapshot, encodeSnapshot } from './snapshot-format'

export interface FileBase {
  /** sha256 of the file bytes this base was loaded from or saved as. */
  readonly hash: string
  /** `TextDoc.save()` of the document exactly as it was then. */
  readonly state: Uint8Array
}

interface LinksFile {
  version: 1
  links: Record<string, string>
}

export class FileLinks {
  readonly dataDir: string
  private readonly fs: StorageFs
  private links: Map<string, string> | null = null
  private writes: Promise<void> = Promise.resolve()

  constructor(fs: StorageFs, dataDir: string) {
    this.fs = fs
    this.dataDir = dataDir
  }

  async docIdFor(realPath: string): Promise<string | undefined> {
    return (await this.load()).get(realPath)
  }

  /** Links `realPath` to `docId`; `previousPath`, if given, is unlinked in the same write (Save As). */
  link(realPath: string, docId: string, previousPath?: string): Promise<void> {
    return this.serialise(async () => {
      const links = await this.load()
      if (previousPath !== undefined) links.delete(previousPath)
      links.set(realPath, docId)
      const file: LinksFile = { version: 1, links: Object.fromEntries(links) }
      await this.fs.mkdir(this.dataDir).catch((err: unknown) => {
        throw toStorageError(err, 'create the data folder', this.dataDir)
      })
      await writeFileAtomic(
        this.fs,
        this.linksPath(),
        new TextEncoder().encode(JSON.stringify(file, null, 1)),
        {
          action: 'record the file link in',
        },
      )
    })
  }

  async readBase(docId: string): Promise<FileBase | null> {
    let bytes: Uint8Array
    try {
      bytes = await this.fs.readFile(this.basePath(docId))
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null
      throw toStorageError(err, 'read', this.basePath(docId))
    }
    const payload = decodeSnapshot(bytes, 0)
    // A damaged base only costs the three-way merge its base; the caller falls back to the document.
    if (typeof payload === 'string' || payload.byteLength < 64) return null
    return {
      hash: new TextDecoder('utf-8', { ignoreBOM: false }).decode(payload.subarray(0, 64)),
      state: payload.subarray(64),
    }
  }

  writeBase(docId: string, base: FileBase): Promise<void> {
    return this.serialise(async () => {
      const hash = new TextEncoder().encode(base.hash)
      const payload = new Uint8Array(hash.byteLength + base.state.byteLength)
      payload.set(hash, 0)
      payload.set(base.state, hash.byteLength)
      const dir = join(this.dataDir, 'bases')
      await this.fs.mkdir(dir).catch((err: unknown) => {
        throw toStorageError(err, 'create the folder', dir)
      })
      await writeFileAtomic(this.fs, this.basePath(docId), encodeSnapshot(0, payload), {
        action: 'write the merge base',
      })
    })
  }

  private async load(): Promise<Map<string, string>> {
    if (this.links) return this.links
    let parsed: LinksFile | null = null
    try {
      parsed = JSON.parse(
        new TextDecoder('utf-8', { ignoreBOM: false }).decode(await this.fs.readFile(this.linksPath())),
      ) as LinksFile
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && !(err instanceof SyntaxError))
        throw toStorageError(err, 'read', this.linksPath())
    }
    this.links ??= new Map(Object.entries(parsed?.version === 1 ? parsed.links : {}))
    return this.links
  }

  private serialise(task: () => Promise<void>): Promise<void> {
    const run = this.writes.then(task)
    this.writes = run.catch(() => undefined)
    return run
  }

  private linksPath(): string {
    return join(this.dataDir, 'links.json')
  }

  private basePath(docId: string): string {
    return join(this.dataDir, 'bases', `${docId}.bin`)
  }
}
