/**
 * Brings a shared folder on disk to a state of the replicated tree: folders made, files written
 * (atomically: never half old, half new), renamed and moved as renames (an editor that has the file
 * open keeps it), and removed. The writer remembers what it last wrote or adopted from a scan, with the
 * hash of each file's bytes, and never destroys what it does not know:
 *
 * - a file changed on disk since (by another program, not yet merged) is not overwritten or removed:
 *   it is reported as 'changed-on-disk', for the caller to merge first;
 * - a path taken by a file it does not know (one the ignore rules leave out, or one just made) is not
 *   written or moved over: 'occupied';
 * - a removed folder that still holds files it does not share (build output, ignored files) is kept:
 *   'kept-folder'.
 *
 * Moves go in two steps, every moving entry to a temp name in the folder's root first, then (after the
 * removals) to its place, so that swaps, moves into moved folders and a folder taking the name of a
 * removed file need no ordering; an entry that keeps its place
 * inside a moving folder goes with it. Temp names end in `.meshpad-tmp`, which scans leave out. A crash
 * between the two steps leaves an entry under its temp name: the documents hold the shared files' text,
 * which the next apply writes again, and the temp entry is left for the person to look at rather than
 * deleted, as a moved folder may hold files that are not shared. Errors of one entry are reported, not
 * thrown: the rest still goes ahead.
 */
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../storage/atomic-write'
import { DirSyncs } from '../storage/dir-syncs'
import { inParallel } from '../storage/in-parallel'
import { errnoCode, nodeFs, type StorageFs } from '../storage/fs-layer'
import { hashBytes } from '../storage/text-file'
import { DEFAULT_TEXT_FORMAT, encodeText, type TextFormat } from '../storage/text-format'
import { withSuffix } from '../../shared/tree/names'

export interface MirrorEntry {
  readonly kind: 'folder' | 'file'
  /** Relative to the folder, with `/` separators. */
  readonly path: string
  /**
   * Files: the text (undefined: not known yet, the file is left as it is on disk), and the format to
   * write it in (default UTF-8, LF). May be getters: the writer reads them only for a file whose
   * stamp is not the one it last wrote or read, in one synchronous step with the stamp.
   */
  readonly text?: string
  readonly format?: TextFormat
  /**
   * Files: names the text and format as they are now (equal stamps, equal bytes), if the caller can
   * tell. A file whose stamp is the one the writer last wrote or read is not read, encoded or hashed
   * again: a write to a folder of 2,000 files costs what the files written cost, not 2,000 hashes.
   */
  readonly stamp?: string
}

/** The tree's state to mirror: each entry by its tree node ID. */
export type MirrorState = ReadonlyMap<string, MirrorEntry>

export interface MirrorProblem {
  readonly path: string
  readonly why: 'changed-on-disk' | 'occupied' | 'kept-folder' | 'failed'
  /** For 'failed': what the system said. */
  readonly detail?: string
}

interface Known {
  kind: 'folder' | 'file'
  path: string
  /** Files: the hash of the bytes last written or read. */
  hash?: string
  /** Files: the stamp of the text last written, or found on disk already (MirrorEntry.stamp). */
  stamp?: string
}

/** How many parts a path has, counted without splitting it (sorts call this for every comparison). */
function depth(path: string): number {
  let parts = 1
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) parts++
  return parts
}
const parentOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('/')))
/** Files written at once: their fsyncs overlap (two each), and a folder's files are not written in turn. */
const WRITE_PARALLEL = 16
/** How many " (n)" names are tried beside a taken place. */
const MAX_SUFFIX = 100

/** An entry moved out of the way to a temp name, on its way from `from` to its place. */
interface Parked {
  readonly id: string
  readonly from: string
  readonly temp: string
}
const TEMP_SUFFIX = '.meshpad-tmp'

export class FolderWriter {
  private readonly known = new Map<string, Known>()
  /**
   * The entries known at each path (`idAt`): a scan of `known` per lookup made the watcher's reading
   * back of 2,000 files written quadratic. Kept by `put`, `drop` and `relocate`, the only writers of
   * `known` and of its paths.
   */
  private readonly byPath = new Map<string, Set<string>>()
  private readonly dirSyncs: DirSyncs

  constructor(
    private readonly root: string,
    private readonly fs: StorageFs = nodeFs,
  ) {
    this.dirSyncs = new DirSyncs(fs)
  }

  /**
   * An entry already on disk as the tree has it (from a scan): `hash` of a file's bytes as read, and
   * `stamp` if the caller knows that the text it names is those bytes (MirrorEntry.stamp).
   */
  adopt(id: string, kind: 'folder' | 'file', path: string, hash?: string, stamp?: string): void {
    this.put(id, stamp === undefined ? { kind, path, hash } : { kind, path, hash, stamp })
  }

  /** The path an entry has on disk now, as far as this writer knows. */
  pathOf(id: string): string | undefined {
    return this.known.get(id)?.path
  }

  /** The entry this writer knows at `path`. */
  idAt(path: string): string | undefined {
    const ids = this.byPath.get(path)
    if (ids === undefined) return undefined
    if (ids.size === 1) return ids.values().next().value
    // Two entries at one path (one moved where another was, before it was told): the first known, as before.
    for (const [id, k] of this.known) if (k.path === path) return id
    return undefined
  }

  /** Every entry known, with its path. */
  *entries(): IterableIterator<[string, string]> {
    for (const [id, k] of this.known) yield [id, k.path]
  }

  /** The entries known at `path` and under it. */
  idsUnder(path: string): string[] {
    return [...this.known]
      .filter(([, k]) => k.path === path || k.path.startsWith(`${path}/`))
      .map(([id]) => id)
  }

  kindOf(id: string): 'folder' | 'file' | undefined {
    return this.known.get(id)?.kind
  }

  /** The hash of a file's bytes as last written or read. */
  hashOf(id: string): string | undefined {
    return this.known.get(id)?.hash
  }

  /** The stamp of a file's text as last written or read (MirrorEntry.stamp), if known. */
  stampOf(id: string): string | undefined {
    return this.known.get(id)?.stamp
  }

  /** Forgets an entry that is no longer on disk (another program removed it). */
  forget(id: string): void {
    this.drop(id)
  }

  /** Records an entry (replacing what was known of it), indexed by its path. */
  private put(id: string, k: Known): void {
    const was = this.known.get(id)
    if (was) this.unindex(id, was.path)
    this.known.set(id, k) // in its place in the order, if known before
    this.index(id, k.path)
  }

  private drop(id: string): void {
    const k = this.known.get(id)
    if (k === undefined) return
    this.known.delete(id)
    this.unindex(id, k.path)
  }

  private index(id: string, path: string): void {
    const ids = this.byPath.get(path)
    if (ids) ids.add(id)
    else this.byPath.set(path, new Set([id]))
  }

  private unindex(id: string, path: string): void {
    const ids = this.byPath.get(path)
    if (!ids) return
    ids.delete(id)
    if (ids.size === 0) this.byPath.delete(path)
  }

  async apply(next: MirrorState): Promise<MirrorProblem[]> {
    const problems: MirrorProblem[] = []
    // Removals between the two steps of the moves: what moves out of a removed folder has left it,
    // and nothing removed (a file where a folder now goes) is in the way of what moves in.
    const parked = await this.park(next, problems)
    await this.remove(next, problems)
    await this.place(next, parked, problems)
    await this.write(next, problems)
    return problems
  }

  // ---- moves and renames -----------------------------------------------------------------------------

  /** The first step of the moves: each moving entry to a temp name in the root. */
  private async park(next: MirrorState, problems: MirrorProblem[]): Promise<Parked[]> {
    const moving = [...this.known]
      .filter(([id, k]) => next.has(id) && next.get(id)!.path !== k.path && next.get(id)!.kind === k.kind)
      .sort(([, a], [, b]) => depth(a.path) - depth(b.path))
    const parked: Parked[] = []
    for (const [id, k] of moving) {
      // An entry that keeps its place inside a moving folder goes with it: no rename of its own.
      const to = next.get(id)!.path
      const carried = parked.some(
        (p) => k.path.startsWith(`${p.temp}/`) && to === next.get(p.id)!.path + k.path.slice(p.temp.length),
      )
      if (carried) continue
      const temp = `.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`
      try {
        await this.fs.rename(this.abs(k.path), this.abs(temp))
      } catch (err) {
        problems.push(failed(k.path, err))
        continue
      }
      parked.push({ id, from: k.path, temp })
      this.relocate(k.path, temp)
    }
    return parked
  }

  /** The second step: each parked entry to its place, shallowest first. */
  private async place(next: MirrorState, parked: Parked[], problems: MirrorProblem[]): Promise<void> {
    parked.sort((a, b) => depth(next.get(a.id)!.path) - depth(next.get(b.id)!.path))
    for (const { id, from, temp } of parked) {
      const to = next.get(id)!.path
      try {
        // Never renamed over anything: a rename would replace a file there without a word. Taken, it
        // goes back where it was, unless that folder went in this apply (it is not made again), else
        // beside its place under a free name ("notes (2).md"); failing all, it stays parked (the
        // document has its text).
        const target = await this.freePlace(to, from)
        if (target !== to) problems.push({ path: to, why: 'occupied' })
        if (target === null) continue
        await this.fs.mkdir(dirname(this.abs(target)))
        await this.fs.rename(this.abs(temp), this.abs(target))
        this.relocate(temp, target)
      } catch (err) {
        problems.push(failed(to, err))
      }
    }
  }

  /** Where a parked entry meant for `to` goes: see `place`. */
  private async freePlace(to: string, from: string): Promise<string | null> {
    if (!(await this.exists(to))) return to
    const fromFolder = parentOf(from)
    if ((fromFolder === '' || (await this.exists(fromFolder))) && !(await this.exists(from))) return from
    const folder = parentOf(to)
    const name = to.slice(folder === '' ? 0 : folder.length + 1)
    for (let n = 2; n <= MAX_SUFFIX; n++) {
      const beside = folder === '' ? withSuffix(name, n) : `${folder}/${withSuffix(name, n)}`
      if (!(await this.exists(beside))) return beside
    }
    return null
  }

  /** Rewrites the known path of `from` and of everything under it. */
  private relocate(from: string, to: string): void {
    for (const [id, k] of this.known) {
      const path =
        k.path === from ? to : k.path.startsWith(`${from}/`) ? to + k.path.slice(from.length) : undefined
      if (path === undefined) continue
      this.unindex(id, k.path)
      k.path = path
      this.index(id, path)
    }
  }

  // ---- removals --------------------------------------------------------------------------------------

  private async remove(next: MirrorState, problems: MirrorProblem[]): Promise<void> {
    const gone = [...this.known].filter(([id]) => !next.has(id))
    // Files first, then folders, deepest first: a folder is removed only once it is empty.
    gone.sort(([, a], [, b]) =>
      a.kind === b.kind ? depth(b.path) - depth(a.path) : a.kind === 'file' ? -1 : 1,
    )
    for (const [id, k] of gone) {
      try {
        if (k.kind === 'file') {
          const hash = await this.hashOnDisk(k.path)
          if (hash !== undefined && hash !== k.hash) {
            problems.push({ path: k.path, why: 'changed-on-disk' })
            continue
          }
          if (hash !== undefined) await this.fs.unlink(this.abs(k.path))
        } else if (await this.exists(k.path)) {
          if ((await this.fs.readdir(this.abs(k.path))).length > 0) {
            problems.push({ path: k.path, why: 'kept-folder' })
            this.drop(id)
            continue
          }
          await this.fs.rmTree(this.abs(k.path)) // empty: nothing but the folder itself goes
        }
        this.drop(id)
      } catch (err) {
        problems.push(failed(k.path, err))
      }
    }
  }

  // ---- folders made, files written -------------------------------------------------------------------

  private async write(next: MirrorState, problems: MirrorProblem[]): Promise<void> {
    // A pass runs for every change written (debounced while people type), and a project's tree holds
    // thousands of entries: only the folders not made yet are sorted, and the files unchanged since
    // written are passed over here (writeFile checks again, after its awaits).
    const folders = [...next]
      .filter(([id, entry]) => entry.kind === 'folder' && !this.known.has(id))
      .sort(([, a], [, b]) => depth(a.path) - depth(b.path))
    const files = [...next].filter(
      ([id, entry]) =>
        entry.kind === 'file' && (entry.stamp === undefined || this.known.get(id)?.stamp !== entry.stamp),
    )
    // Each file's folder is made once in a pass, not once per file (2,000 mkdirs for a joined tree).
    const made = new Map<string, Promise<boolean>>()
    const makeFolder = (dir: string): Promise<boolean> => {
      let making = made.get(dir)
      if (!making) made.set(dir, (making = this.fs.mkdir(dir)))
      return making
    }
    // Folders first, shallowest first (one there already, or whose move failed, is known: skipped);
    // then the files, WRITE_PARALLEL at once (each its own path).
    for (const [id, entry] of folders) {
      try {
        await this.fs.mkdir(this.abs(entry.path))
        this.put(id, { kind: 'folder', path: entry.path })
      } catch (err) {
        problems.push(failed(entry.path, err))
      }
    }
    await inParallel(files, WRITE_PARALLEL, async ([id, entry]) => {
      try {
        await this.writeFile(id, entry, problems, makeFolder)
      } catch (err) {
        problems.push(failed(entry.path, err))
      }
    })
  }

  private async writeFile(
    id: string,
    entry: MirrorEntry,
    problems: MirrorProblem[],
    makeFolder: (dir: string) => Promise<unknown>,
  ): Promise<void> {
    const k = this.known.get(id)
    if (k && k.path !== entry.path) return // its move failed: reported already
    // The stamp and the text in one synchronous step: the stamp kept names the text hashed.
    const stamp = entry.stamp
    if (stamp !== undefined && k?.stamp === stamp) return // unchanged since last written or read
    const text = entry.text
    if (text === undefined) return // its text is not known yet: the file is left as it is
    const bytes = encodeText(text, entry.format ?? DEFAULT_TEXT_FORMAT)
    const hash = hashBytes(bytes)
    if (k?.hash === hash) {
      k.stamp = stamp
      return
    }
    const onDisk = await this.hashOnDisk(entry.path)
    if (onDisk !== undefined && onDisk !== k?.hash) {
      problems.push({ path: entry.path, why: k ? 'changed-on-disk' : 'occupied' })
      return
    }
    await makeFolder(dirname(this.abs(entry.path)))
    // Files written at once in one folder share its fsyncs (a joined tree: 2,000 fsyncs of folders).
    await writeFileAtomic(this.fs, this.abs(entry.path), bytes, {
      action: 'write',
      syncDir: (dir) => this.dirSyncs.sync(dir),
    })
    this.put(id, { kind: 'file', path: entry.path, hash, stamp })
  }

  private abs(path: string): string {
    return join(this.root, ...path.split('/'))
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.fs.lstat(this.abs(path))
      return true
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false
      throw err
    }
  }

  /** The hash of a file's bytes on disk, or undefined if there is no file. */
  private async hashOnDisk(path: string): Promise<string | undefined> {
    try {
      return hashBytes(await this.fs.readFile(this.abs(path)))
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw err
    }
  }
}

function failed(path: string, err: unknown): MirrorProblem {
  return { path, why: 'failed', detail: errnoCode(err) ?? (err instanceof Error ? err.message : String(err)) }
}
