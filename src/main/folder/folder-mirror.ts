/**
 * Keeps a folder on disk and a replicated file tree in step, both ways (issue 15): the tree's state is
 * written to the folder (folder-writer.ts), and what other programs change in the folder
 * (folder-watcher.ts) becomes tree ops and new file texts, as edits by this device's "disk" author.
 *
 * - A file whose bytes changed gets its new text (`FileTexts.set`: the caller turns it into text ops, by
 *   diff, as linked files do). Meshpad's own writes coming back are recognised by their hash and ignored.
 * - A new path is a move when a file with the same bytes went away in the same report (`mv`, an editor's
 *   rename, a checkout that moves a file): the node, its history and its authorship go with it.
 *   Otherwise it is a create, under folders created as needed.
 * - A path gone is a remove (to the trash, from which a move brings it back).
 *
 * The texts themselves are not here: `FileTexts` holds them (a Meshpad document per file node, in the
 * app), so that this stays the disk side only.
 */
import type { FileTree } from '../../shared/tree/file-tree'
import { MAX_LISTED_PATH, ROOT, type TreeOp } from '../../shared/tree/tree-ops'
import { nodeFs, type StorageFs } from '../storage/fs-layer'
import type { FolderDelta } from './folder-watcher'
import { FolderWriter, type MirrorEntry, type MirrorProblem } from './folder-writer'
import { DEFAULT_TEXT_FORMAT, sameFormat, type TextFormat } from '../storage/text-format'
import { scanFolder, type FolderScan, type SharedFile } from './scan-folder'

/** The text of each file node: a Meshpad document each, in the app. */
export interface FileTexts {
  /** Undefined while the text is not known here (not loaded yet): the file on disk is left as it is. */
  get(id: string): string | undefined
  /**
   * The file's text is now `text` (made on disk, or first read), in `format` on disk: for the caller
   * to turn into ops.
   */
  set(id: string, text: string, format: TextFormat): void
  /** The encoding and line endings to write the file in (default UTF-8, LF). */
  format?(id: string): TextFormat | undefined
  /**
   * Names the text and format as they are now, if known (MirrorEntry.stamp): a file whose stamp has
   * not changed since it was written is not read or hashed again.
   */
  stamp?(id: string): string | undefined
}

/**
 * The longest path written, in UTF-8 bytes (Linux's PATH_MAX): a tree of names of 255 bytes each,
 * nested deep by a peer, is not carried to the folder past it.
 */
export const MAX_PATH_BYTES = 4096

export class FolderMirror {
  private readonly writer: FolderWriter

  constructor(
    readonly root: string,
    readonly tree: FileTree,
    private readonly texts: FileTexts,
    private readonly fs: StorageFs = nodeFs,
  ) {
    this.writer = new FolderWriter(root, fs)
  }

  /** Shares a folder: every folder and text file in it becomes a node. Returns the ops for peers. */
  async importFolder(): Promise<TreeOp[]> {
    return this.importScan(await scanFolder(this.root, this.fs))
  }

  /** `importFolder` on a scan already made. */
  importScan(scan: FolderScan): TreeOp[] {
    const ops: TreeOp[] = []
    for (const path of scan.folders) this.createFolder(path, ops)
    for (const file of scan.files) this.createFile(file, ops)
    return ops
  }

  /**
   * Takes up a folder that may already hold the tree (a restart, or a join into a folder): what is at
   * a node's path, of its kind, is adopted as that node (a text that differs goes to `FileTexts.set`);
   * returns what the tree does not have, as a change on disk for `fromDisk`. What the folder lacks is
   * written by the next `toDisk`.
   */
  adoptScan(scan: FolderScan): FolderDelta {
    const byPath = new Map(this.tree.list(MAX_LISTED_PATH).map((e) => [e.path, e]))
    const folders: string[] = []
    for (const path of scan.folders) {
      const e = byPath.get(path)
      if (e?.kind === 'folder') this.writer.adopt(e.id, 'folder', path)
      else if (e === undefined) folders.push(path)
    }
    const files: SharedFile[] = []
    for (const file of scan.files) {
      const e = byPath.get(file.path)
      if (e?.kind === 'file') {
        // Text and format as the document has them: the stamp names these bytes (round trips are
        // byte-exact), so the next write neither encodes nor hashes the file again (a restart on
        // 2,000 files did all of them). Read in one synchronous step, as the writer does.
        const same =
          this.texts.get(e.id) === file.text &&
          sameFormat(this.texts.format?.(e.id) ?? DEFAULT_TEXT_FORMAT, file.format)
        this.writer.adopt(e.id, 'file', file.path, file.hash, same ? this.texts.stamp?.(e.id) : undefined)
        if (this.texts.get(e.id) !== file.text) this.texts.set(e.id, file.text, file.format)
      } else if (e === undefined) files.push(file)
    }
    return { gone: [], now: { ...scan, folders, files }, rescan: false }
  }

  /** A whole scan as a change on disk (the watcher lost track): what the tree has and the scan not is gone. */
  rescanDelta(scan: FolderScan): FolderDelta {
    const present = new Set([...scan.folders, ...scan.files.map((f) => f.path)])
    const gone = this.tree
      .list(MAX_LISTED_PATH)
      .map((e) => this.writer.pathOf(e.id))
      .filter((p): p is string => p !== undefined && !present.has(p))
    return { gone, now: scan, rescan: false }
  }

  /** Forgets what is on disk for a node: the next write treats its path as taken by another program. */
  forget(id: string): void {
    this.writer.forget(id)
  }

  /** The hash of a file's bytes as last written or read here. */
  hashOf(id: string): string | undefined {
    return this.writer.hashOf(id)
  }

  /** The hash of the bytes last written or read here at `path`, if a file is known there. */
  hashAt(path: string): string | undefined {
    const id = this.writer.idAt(path)
    return id === undefined ? undefined : this.writer.hashOf(id)
  }

  /** The stamp of a file's text as last written or read here (FileTexts.stamp), if known. */
  stampOf(id: string): string | undefined {
    return this.writer.stampOf(id)
  }

  /**
   * Writes the tree's state to the folder. Problems are reported per path (folder-writer.ts); a path
   * over MAX_PATH_BYTES is one ('failed', not written).
   */
  toDisk(): Promise<MirrorProblem[]> {
    const state = new Map<string, MirrorEntry>()
    const tooLong: MirrorProblem[] = []
    for (const e of this.tree.list(MAX_LISTED_PATH)) {
      if (Buffer.byteLength(e.path) > MAX_PATH_BYTES) {
        tooLong.push({ path: e.path.slice(0, 200), why: 'failed', detail: 'path too long' })
        continue
      }
      state.set(e.id, e.kind === 'folder' ? { kind: 'folder', path: e.path } : this.fileEntry(e.id, e.path))
    }
    return this.writer.apply(state).then((problems) => [...tooLong, ...problems])
  }

  /** What other programs changed, as tree ops for peers (texts go through `FileTexts.set`). */
  fromDisk(delta: FolderDelta): TreeOp[] {
    const ops: TreeOp[] = []
    // What went away: paths gone, and paths whose kind changed (a file where a folder was, or the
    // other way round). Forgotten at once, so that nothing new is placed under them.
    const goneIds = new Set<string>()
    for (const path of delta.gone) for (const id of this.writer.idsUnder(path)) goneIds.add(id)
    for (const path of delta.now.folders) {
      const id = this.writer.idAt(path)
      if (id !== undefined && this.writer.kindOf(id) !== 'folder') goneIds.add(id)
    }
    for (const file of delta.now.files) {
      const id = this.writer.idAt(file.path)
      if (id !== undefined && this.writer.kindOf(id) !== 'file') {
        for (const under of this.writer.idsUnder(file.path)) goneIds.add(under)
      }
    }
    for (const id of this.missingFromReadFolders(delta)) goneIds.add(id)
    // Folders renamed or moved as a whole first: their nodes keep what is in them.
    this.moveFolders(delta, goneIds, ops)
    // Files that went away, by hash: a new file with the same bytes is the same file, moved.
    const goneFiles = new Map<string, string[]>()
    for (const id of goneIds) {
      const hash = this.writer.hashOf(id)
      if (hash !== undefined) goneFiles.set(hash, [...(goneFiles.get(hash) ?? []), id])
      this.writer.forget(id)
    }
    for (const path of delta.now.folders)
      if (this.writer.idAt(path) === undefined) this.createFolder(path, ops)
    for (const file of delta.now.files) {
      const id = this.writer.idAt(file.path)
      if (id !== undefined) {
        if (this.writer.hashOf(id) === file.hash) continue // unchanged, or our own write coming back
        this.texts.set(id, file.text, file.format)
        this.writer.adopt(id, 'file', file.path, file.hash)
        // Deleted by a member while this change waited (the writer kept the file: 'changed-on-disk'):
        // the change brings it back, where it is, rather than go to the trash with it unseen.
        if (this.tree.path(id) === undefined) {
          const { parent, name } = this.parentOf(file.path, ops)
          ops.push(this.tree.move(id, parent, name))
        }
        continue
      }
      const moved = goneFiles.get(file.hash)?.shift()
      if (moved === undefined || this.tree.place(moved) === undefined) {
        this.createFile(file, ops)
        continue
      }
      goneIds.delete(moved)
      const { parent, name } = this.parentOf(file.path, ops)
      ops.push(this.tree.move(moved, parent, name))
      this.writer.adopt(moved, 'file', file.path, file.hash)
    }
    // Deepest first, so that a folder's removal does not carry away a node moved out of it above.
    const removed = [...goneIds].filter((id) => this.tree.place(id) !== undefined)
    removed.sort((a, b) => (this.tree.path(b) ?? '').length - (this.tree.path(a) ?? '').length)
    for (const id of removed) ops.push(this.tree.remove(id))
    return ops
  }

  /**
   * Entries known under a folder the report read whole (every folder in a report is read with all it
   * holds) that it no longer holds: gone, even though the report does not name them. A watch may
   * name the folder rather than the file removed in it. Entries left out of the scan (unreadable, now
   * binary or too large) are not taken for gone.
   */
  private missingFromReadFolders(delta: FolderDelta): string[] {
    const read = new Set(delta.now.folders)
    if (read.size === 0) return []
    const present = new Set([...delta.now.folders, ...delta.now.files.map((f) => f.path)])
    const leftOut = delta.now.leftOut.map((l) => l.path)
    const out: string[] = []
    for (const [id, path] of this.writer.entries()) {
      if (present.has(path)) continue
      if (leftOut.some((l) => path === l || path.startsWith(`${l}/`))) continue
      let cut = path.lastIndexOf('/')
      while (cut > 0 && !read.has(path.slice(0, cut))) cut = path.lastIndexOf('/', cut - 1)
      if (cut > 0) out.push(id)
    }
    return out
  }

  /**
   * Folders renamed or moved (`mv lib library`, an editor's rename): a new folder holding exactly the
   * files of a folder gone in the same report (the same paths under it, the same bytes) is that folder,
   * moved. Its node moves, so what a member made in it meanwhile on another machine goes with it;
   * with a new folder and the old one deleted, that would end in the trash. Its entries are taken out
   * of `goneIds`, at their new paths.
   */
  private moveFolders(delta: FolderDelta, goneIds: Set<string>, ops: TreeOp[]): void {
    const filesUnder = (entries: Iterable<[string, string]>, folder: string): Map<string, string> => {
      const out = new Map<string, string>()
      for (const [path, hash] of entries)
        if (path.startsWith(`${folder}/`)) out.set(path.slice(folder.length + 1), hash)
      return out
    }
    const gone = [...goneIds].filter((id) => this.writer.kindOf(id) === 'folder')
    const goneFiles: [string, string][] = [...goneIds].flatMap((id) => {
      const path = this.writer.pathOf(id)
      const hash = this.writer.hashOf(id)
      return path !== undefined && hash !== undefined ? [[path, hash] as [string, string]] : []
    })
    const newFiles: [string, string][] = delta.now.files.map((f) => [f.path, f.hash])
    const fresh = delta.now.folders
      .filter((path) => this.writer.idAt(path) === undefined)
      .sort((a, b) => a.split('/').length - b.split('/').length)
    const taken = new Set<string>()
    const placed: string[] = []
    for (const path of fresh) {
      if (placed.some((p) => path.startsWith(`${p}/`))) continue // inside a folder moved already
      const theirs = filesUnder(newFiles, path)
      if (theirs.size === 0) continue
      const match = gone.find((id) => {
        if (taken.has(id) || this.tree.place(id) === undefined) return false
        const ours = filesUnder(goneFiles, this.writer.pathOf(id)!)
        return ours.size === theirs.size && [...ours].every(([rel, hash]) => theirs.get(rel) === hash)
      })
      if (match === undefined) continue
      taken.add(match)
      placed.push(path)
      const from = this.writer.pathOf(match)!
      const { parent, name } = this.parentOf(path, ops)
      ops.push(this.tree.move(match, parent, name))
      for (const id of [...goneIds]) {
        const at = this.writer.pathOf(id)
        if (at === undefined || (at !== from && !at.startsWith(`${from}/`))) continue
        this.writer.adopt(id, this.writer.kindOf(id)!, path + at.slice(from.length), this.writer.hashOf(id))
        goneIds.delete(id)
      }
    }
  }

  /** Getters: the writer reads a file's text only if its stamp changed, and then with the stamp. */
  private fileEntry(id: string, path: string): MirrorEntry {
    const texts = this.texts
    return {
      kind: 'file',
      path,
      get text() {
        return texts.get(id)
      },
      get format() {
        return texts.format?.(id)
      },
      get stamp() {
        return texts.stamp?.(id)
      },
    }
  }

  private createFolder(path: string, ops: TreeOp[]): string {
    const { parent, name } = this.parentOf(path, ops)
    const { id, op } = this.tree.create(parent, name, 'folder')
    ops.push(op)
    this.writer.adopt(id, 'folder', path)
    return id
  }

  private createFile(file: SharedFile, ops: TreeOp[]): void {
    const { parent, name } = this.parentOf(file.path, ops)
    const { id, op } = this.tree.create(parent, name, 'file')
    ops.push(op)
    this.texts.set(id, file.text, file.format)
    this.writer.adopt(id, 'file', file.path, file.hash)
  }

  /** The node of a path's folder (made if the tree has none there yet) and the path's last name. */
  private parentOf(path: string, ops: TreeOp[]): { parent: string; name: string } {
    const cut = path.lastIndexOf('/')
    const name = path.slice(cut + 1)
    if (cut < 0) return { parent: ROOT, name }
    const folder = path.slice(0, cut)
    return { parent: this.writer.idAt(folder) ?? this.createFolder(folder, ops), name }
  }
}
