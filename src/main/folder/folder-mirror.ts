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
import { ROOT, type TreeOp } from '../../shared/tree/tree-ops'
import { nodeFs, type StorageFs } from '../storage/fs-layer'
import type { FolderDelta } from './folder-watcher'
import { FolderWriter, type MirrorEntry, type MirrorProblem } from './folder-writer'
import { scanFolder, type SharedFile } from './scan-folder'

/** The text of each file node: a Meshpad document each, in the app. */
export interface FileTexts {
  get(id: string): string | undefined
  /** The file's text is now `text` (made on disk, or first read): for the caller to turn into ops. */
  set(id: string, text: string): void
}

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
    const scan = await scanFolder(this.root, this.fs)
    const ops: TreeOp[] = []
    for (const path of scan.folders) this.createFolder(path, ops)
    for (const file of scan.files) this.createFile(file, ops)
    return ops
  }

  /** Writes the tree's state to the folder. Problems are reported per path (folder-writer.ts). */
  toDisk(): Promise<MirrorProblem[]> {
    const state = new Map<string, MirrorEntry>()
    for (const e of this.tree.list()) {
      state.set(e.id, e.kind === 'folder' ? { kind: 'folder', path: e.path } : this.fileEntry(e.id, e.path))
    }
    return this.writer.apply(state)
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
        this.texts.set(id, file.text)
        this.writer.adopt(id, 'file', file.path, file.hash)
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

  private fileEntry(id: string, path: string): MirrorEntry {
    return { kind: 'file', path, text: this.texts.get(id) ?? '' }
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
    this.texts.set(id, file.text)
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
