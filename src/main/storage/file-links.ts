/**
 * Which document belongs to which file, kept in the data dir so that reopening a file reopens its
 * document with its history:
 *
 *   <data dir>/links.json               { "version": 1, "links": { "<real path>": "<doc ID>" },
 *                                         "creating": { "<real path>": ["<doc ID known before>", …] } }
 *   <data dir>/bases/<docId>.bin        the base: the text last loaded from or saved to the file, as a
 *                                       CRDT state, with the hash of those bytes, the file's format and
 *                                       the state's version; external changes are diffed against it
 *   <data dir>/bases/<docId>.next.bin   a Save's base, written before the file and renamed over the base
 *                                       once the file is written: after a crash in between, whichever of
 *                                       the two matches the file's hash is its base
 *
 * All are written atomically. One FileLinks per data dir and process: writes are serialised here.
 * "creating" records a first open in progress (linked-file.ts): the documents that existed before it,
 * so that one an interrupted first open created can be told from the others and adopted.
 */
import { join } from 'node:path'
import type { VersionVector } from '../../shared/crdt'
import { removeStaleTemps, writeFileAtomic } from './atomic-write'
import { toStorageError } from './errors'
import { errnoCode, syncDir, type StorageFs } from './fs-layer'
import { decodeSnapshot, encodeSnapshotParts } from './snapshot-format'
import type { TextFormat } from './text-format'

export interface FileBase {
  /** sha256 of the file bytes this base was loaded from or saved as. */
  readonly hash: string
  /** The document exactly as it was then, in a form the caller tags (linked-file.ts). */
  readonly state: Uint8Array
  /**
   * `state` as parts laid end to end, written in its place when given: a file's import has its ops
   * already (10 MB for a 10 MB file), and making `state` whole would copy them into a fresh buffer.
   */
  readonly stateParts?: readonly Uint8Array[]
  /** The file's format (encoding, line endings); absent in bases written before it was kept. */
  readonly format?: TextFormat
  /** The version of `state`, so that a reader can tell without decoding it whether a document holds it. */
  readonly version?: VersionVector
}

interface LinksFile {
  version: 1
  links: Record<string, string>
  creating?: Record<string, string[]>
}

/** First byte of a base payload with a format and version; the older layout starts with a hex digit. */
const BASE_V2 = 0
const HASH_LENGTH = 64
const ENCODINGS = ['utf8', 'utf8-bom', 'utf16le', 'utf16be'] as const
const EOLS = ['lf', 'crlf', 'verbatim'] as const

export class FileLinks {
  readonly dataDir: string
  private readonly fs: StorageFs
  private links: Map<string, string> | null = null
  private readonly creating = new Map<string, string[]>()
  private writes: Promise<void> = Promise.resolve()

  constructor(fs: StorageFs, dataDir: string) {
    this.fs = fs
    this.dataDir = dataDir
  }

  async docIdFor(realPath: string): Promise<string | undefined> {
    return (await this.load()).get(realPath)
  }

  /** Every document linked to some file. */
  async linkedDocIds(): Promise<Set<string>> {
    return new Set((await this.load()).values())
  }

  /**
   * Links `realPath` to `docId`; `previousPath`, if given, is unlinked in the same write (Save As). A
   * first open of `realPath` in progress (`intendToCreate`) ends with it.
   */
  link(realPath: string, docId: string, previousPath?: string): Promise<void> {
    return this.serialise(async () => {
      const links = await this.load()
      if (previousPath !== undefined) links.delete(previousPath)
      links.set(realPath, docId)
      this.creating.delete(realPath)
      await this.writeLinks()
    })
  }

  /**
   * Records, before a document is made for `realPath`, which documents existed then (`known`): if the
   * process dies before `link`, the next open adopts the one made meanwhile instead of making another.
   */
  intendToCreate(realPath: string, known: readonly string[]): Promise<void> {
    return this.serialise(async () => {
      await this.load()
      this.creating.set(realPath, [...known])
      await this.writeLinks()
    })
  }

  /** The documents that existed when a first open of `realPath` began, if one was interrupted. */
  async creatingFor(realPath: string): Promise<readonly string[] | undefined> {
    await this.load()
    return this.creating.get(realPath)
  }

  /**
   * The file's base, and a Save's (`.next.bin`) if one is left over from a crash between writing it and
   * renaming it. A damaged one reads as null: it only costs the three-way merge its base, and the
   * caller falls back to the document.
   */
  async readBases(docId: string): Promise<{ current: FileBase | null; next: FileBase | null }> {
    const read = async (path: string): Promise<FileBase | null> => {
      try {
        return decodeBase(await this.fs.readFile(path))
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return null
        throw toStorageError(err, 'read', path)
      }
    }
    return { current: await read(this.basePath(docId)), next: await read(this.nextBasePath(docId)) }
  }

  /** The current base, or null. */
  async readBase(docId: string): Promise<FileBase | null> {
    return (await this.readBases(docId)).current
  }

  /** Replaces the current base (and drops a leftover Save's base). */
  writeBase(docId: string, base: FileBase): Promise<void> {
    return this.serialise(async () => {
      await this.writeBaseFile(this.basePath(docId), base)
      await this.fs.unlink(this.nextBasePath(docId)).catch(() => undefined)
    })
  }

  /** Writes a Save's base beside the current one, before the file is written (see the header). */
  writeNextBase(docId: string, base: FileBase): Promise<void> {
    return this.serialise(() => this.writeBaseFile(this.nextBasePath(docId), base))
  }

  /** The file has been written: the Save's base becomes the current one (an atomic rename). */
  promoteNextBase(docId: string): Promise<void> {
    return this.serialise(async () => {
      try {
        await this.fs.rename(this.nextBasePath(docId), this.basePath(docId))
        await syncDir(this.fs, join(this.dataDir, 'bases'))
      } catch (err) {
        throw toStorageError(err, 'write the merge base', this.basePath(docId))
      }
    })
  }

  /** The file could not be written: the Save's base is not its base. */
  discardNextBase(docId: string): Promise<void> {
    return this.serialise(() => this.fs.unlink(this.nextBasePath(docId)).catch(() => undefined))
  }

  private async writeBaseFile(path: string, base: FileBase): Promise<void> {
    const dir = join(this.dataDir, 'bases')
    await this.fs.mkdir(dir).catch((err: unknown) => {
      throw toStorageError(err, 'create the folder', dir)
    })
    await writeFileAtomic(this.fs, path, encodeSnapshotParts(0, [], ...encodeBase(base)), {
      action: 'write the merge base',
    })
  }

  private async writeLinks(): Promise<void> {
    const links = await this.load()
    const file: LinksFile = { version: 1, links: Object.fromEntries(links) }
    if (this.creating.size > 0) file.creating = Object.fromEntries(this.creating)
    await this.fs.mkdir(this.dataDir).catch((err: unknown) => {
      throw toStorageError(err, 'create the data folder', this.dataDir)
    })
    await writeFileAtomic(
      this.fs,
      this.linksPath(),
      new TextEncoder().encode(JSON.stringify(file, null, 1)),
      { action: 'record the file link in' },
    )
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
    if (this.links) return this.links // loaded meanwhile by a concurrent call
    // What a crash left of this data's atomic writes (older than this process: never another's).
    await removeStaleTemps(this.fs, this.dataDir, 'links.json', performance.timeOrigin)
    await removeStaleTemps(this.fs, join(this.dataDir, 'bases'), undefined, performance.timeOrigin)
    if (this.links) return this.links
    const valid = parsed?.version === 1
    this.links = new Map(Object.entries(valid ? parsed!.links : {}))
    const creating = valid && typeof parsed!.creating === 'object' ? parsed!.creating : {}
    for (const [path, known] of Object.entries(creating ?? {})) {
      if (Array.isArray(known))
        this.creating.set(
          path,
          known.filter((k) => typeof k === 'string'),
        )
    }
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

  private nextBasePath(docId: string): string {
    return join(this.dataDir, 'bases', `${docId}.next.bin`)
  }
}

/**
 * A base's payload (inside a checksummed snapshot frame): `0 | 64 hex hash | u32 length | JSON
 * { format, version } | state`. The first layout, `64 hex hash | state`, is still read. In parts, the
 * head and the state's (a whole document's ops), which are written one after another, never copied.
 */
function encodeBase(base: FileBase): Uint8Array[] {
  const meta = new TextEncoder().encode(JSON.stringify({ format: base.format, version: base.version }))
  const hash = new TextEncoder().encode(base.hash)
  const head = new Uint8Array(1 + HASH_LENGTH + 4 + meta.byteLength)
  head[0] = BASE_V2
  head.set(hash.subarray(0, HASH_LENGTH), 1)
  new DataView(head.buffer).setUint32(1 + HASH_LENGTH, meta.byteLength, true)
  head.set(meta, 1 + HASH_LENGTH + 4)
  return [head, ...(base.stateParts ?? [base.state])]
}

function decodeBase(bytes: Uint8Array): FileBase | null {
  const decoded = decodeSnapshot(bytes, 0)
  if (typeof decoded === 'string' || decoded.payload.byteLength < HASH_LENGTH) return null
  const payload = decoded.payload
  const text = (b: Uint8Array): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b)
  if (payload[0] !== BASE_V2) {
    return { hash: text(payload.subarray(0, HASH_LENGTH)), state: payload.subarray(HASH_LENGTH) }
  }
  const metaStart = 1 + HASH_LENGTH + 4
  if (payload.byteLength < metaStart) return null
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const metaEnd = metaStart + view.getUint32(1 + HASH_LENGTH, true)
  if (metaEnd > payload.byteLength) return null
  let meta: { format?: { encoding?: unknown; eol?: unknown }; version?: unknown }
  try {
    meta = JSON.parse(text(payload.subarray(metaStart, metaEnd))) as typeof meta
  } catch {
    return null
  }
  const f = meta.format
  const format: TextFormat | undefined =
    f && ENCODINGS.includes(f.encoding as never) && EOLS.includes(f.eol as never)
      ? { encoding: f.encoding as TextFormat['encoding'], eol: f.eol as TextFormat['eol'] }
      : undefined
  const version = isVersion(meta.version) ? meta.version : undefined
  return {
    hash: text(payload.subarray(1, 1 + HASH_LENGTH)),
    state: payload.subarray(metaEnd),
    ...(format ? { format } : {}),
    ...(version ? { version } : {}),
  }
}

function isVersion(v: unknown): v is VersionVector {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)
  )
}
