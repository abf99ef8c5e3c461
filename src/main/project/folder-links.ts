/**
 * Which folder on this device is which project, kept in the data dir (`folders.json`, written
 * atomically): the project's document ID, and for each file the base of its disk merges (the hash of
 * the bytes Meshpad last wrote or read, and the point of the document's history they hold). With the
 * base, a file changed on disk while Meshpad was not running is merged against what it was, not
 * against the document as it is now, so that what peers wrote meanwhile is kept.
 *
 * The file is this device's own: a damaged one is set aside (logged) and the folders are shared anew.
 */
import { realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { isDocId } from '../../shared/sync/messages'
import { writeFileAtomic } from '../storage/atomic-write'
import { errnoCode, nodeFs, type StorageFs } from '../storage/fs-layer'
import { MAX_FILES_PER_PROJECT } from '../node/project-files'

/** What a file on disk was when Meshpad last wrote or read it. */
export interface FileBase {
  /** sha256 of the bytes (folder-writer.ts's hash). */
  readonly hash: string
  /** How many entries of the document's history the text held (`TextDoc.forkAfter`). */
  readonly steps: number
}

interface FolderLink {
  project: string
  bases: Record<string, FileBase>
}

const FILE = 'folders.json'
/** Folders linked on one device: far above what a person shares, far below what would cost anything. */
const MAX_LINKS = 256

export class FolderLinks {
  private constructor(
    private readonly path: string,
    private readonly links: Map<string, FolderLink>,
    private readonly fs: StorageFs,
  ) {}

  static async open(dataDir: string, log: (m: string) => void, fs: StorageFs = nodeFs): Promise<FolderLinks> {
    const path = join(dataDir, FILE)
    const links = new Map<string, FolderLink>()
    try {
      const parsed = JSON.parse(Buffer.from(await fs.readFile(path)).toString('utf8')) as unknown
      for (const [dir, link] of Object.entries(parsed as Record<string, unknown>).slice(0, MAX_LINKS)) {
        const valid = parseLink(link)
        if (valid) links.set(dir, valid)
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT')
        log(`${path} could not be read (${String(err)}): folders are shared anew`)
    }
    return new FolderLinks(path, links, fs)
  }

  /** The project linked to a folder (by its real path), if any. */
  async projectOf(dir: string): Promise<string | undefined> {
    return this.links.get(await realpath(dir))?.project
  }

  /** Every linked folder (by real path) and its project. */
  list(): { dir: string; project: string }[] {
    return [...this.links].map(([dir, link]) => ({ dir, project: link.project }))
  }

  /** Links a folder to a project; its bases start empty. */
  async link(dir: string, project: string): Promise<void> {
    const key = await realpath(dir)
    if (!this.links.has(key) && this.links.size >= MAX_LINKS)
      throw new RangeError(`At most ${MAX_LINKS} folders can be shared from one device.`)
    this.links.set(key, { project, bases: {} })
    await this.save()
  }

  /** The stored bases of a folder's files, by tree node. */
  async bases(dir: string): Promise<Map<string, FileBase>> {
    return new Map(Object.entries(this.links.get(await realpath(dir))?.bases ?? {}))
  }

  async saveBases(dir: string, bases: ReadonlyMap<string, FileBase>): Promise<void> {
    const link = this.links.get(await realpath(dir))
    if (!link) return
    link.bases = Object.fromEntries(bases)
    await this.save()
  }

  private async save(): Promise<void> {
    const json = JSON.stringify(Object.fromEntries(this.links))
    await writeFileAtomic(this.fs, this.path, Buffer.from(json, 'utf8'), { action: 'write' })
  }
}

function parseLink(value: unknown): FolderLink | null {
  if (typeof value !== 'object' || value === null) return null
  const { project, bases } = value as { project?: unknown; bases?: unknown }
  if (!isDocId(project)) return null
  const out: Record<string, FileBase> = {}
  if (typeof bases === 'object' && bases !== null) {
    for (const [node, base] of Object.entries(bases).slice(0, MAX_FILES_PER_PROJECT)) {
      const { hash, steps } = base as { hash?: unknown; steps?: unknown }
      if (typeof hash === 'string' && Number.isSafeInteger(steps) && (steps as number) >= 0)
        out[node] = { hash, steps: steps as number }
    }
  }
  return { project, bases: out }
}
