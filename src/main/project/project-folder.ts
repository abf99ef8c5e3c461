/**
 * A project's folder on this device, kept in step with the project both ways (issue 15): the tree and
 * the files' texts written to the folder (FolderMirror: atomically, renames as renames; debounced
 * while people type), and what other programs change in it (FolderWatcher) turned into tree ops of the
 * project and text ops of its files, by this device, as linked files do (disk-texts.ts). A viewer's
 * folder follows the project; its own changes there are not shared (it may not make any).
 *
 * Everything that touches the folder runs one step at a time (`enqueue`): a write never interleaves
 * with the reading of a change, so the mirror's record of what is on disk stays true.
 */
import type { DocSession } from '../node/doc-session'
import { canEdit } from '../node/members'
import { FILE_OPEN_PARALLEL, fileDocId, fileNodes } from '../node/project-files'
import type { Workspace } from '../node/workspace'
import { FolderMirror } from '../folder/folder-mirror'
import { FolderWatcher, type FolderDelta } from '../folder/folder-watcher'
import { namesFoldIn } from '../folder/names-fold'
import { scanFolder, type LeftOutFile } from '../folder/scan-folder'
import { MAX_LISTED_PATH, type TreeOp } from '../../shared/tree/tree-ops'
import type { FileTree } from '../../shared/tree/file-tree'
import { inParallel } from '../storage/in-parallel'
import { DiskTexts } from './disk-texts'
import type { FileBase } from './folder-links'
import { LeftOutFiles } from './left-out'

export interface ProjectFolderOptions {
  readonly workspace: Workspace
  readonly project: DocSession
  readonly dir: string
  /** The bases of the files' disk merges (folder-links.ts), kept up to date here. */
  readonly bases: Map<string, FileBase>
  /** Stores the bases (after each write to the folder). */
  readonly saveBases: (bases: ReadonlyMap<string, FileBase>) => Promise<void>
  readonly log: (message: string) => void
  /** A write to the folder waits this long after the last change (default 150 ms)… */
  readonly writeDelayMs?: number
  /** …but no longer than this after the first (default 1 s), while people keep typing. */
  readonly writeMaxDelayMs?: number
  /** The watcher's quiet time before it reads what changed (default 100 ms). */
  readonly watchDebounceMs?: number
  /** The files the project leaves out changed (`notShared`). */
  readonly onLeftOut?: (files: readonly LeftOutFile[]) => void
  /**
   * Whether the folder's file system takes names that differ only in case for one; found out
   * (names-fold.ts) if not given (tests give it: these machines' file systems never fold).
   */
  readonly namesFold?: boolean
  /** Whether names Windows refuses must be written as names it takes (default: on Windows). */
  readonly windowsNames?: boolean
}

export class ProjectFolder {
  private readonly mirror: FolderMirror
  private readonly texts: DiskTexts
  private watcher: FolderWatcher | null = null
  private work: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | null = null
  private firstChange = 0
  private closed = false
  private readonly leftOut = new LeftOutFiles()
  private readonly stops: (() => void)[] = []
  private toldViewer = false
  /** Reports of the watcher read in the current step, handled in it. */
  private readonly deltas: FolderDelta[] = []

  private constructor(private readonly options: ProjectFolderOptions) {
    const { workspace, project } = options
    this.texts = new DiskTexts({
      file: (node) => workspace.doc(fileDocId(project.docId, node)),
      open: (node) => workspace.openFile(project, node),
      hashOnDisk: (node) => this.mirror.hashOf(node),
      bases: options.bases,
    })
    this.mirror = new FolderMirror(options.dir, project.durable.tree, this.texts)
  }

  /**
   * Starts keeping `dir` and the project in step. `share`: the folder is the project's first content
   * (every folder and text file in it becomes a node). Otherwise the folder is taken up as it is:
   * what matches the tree is adopted, what differs is merged in, what is new is added, what the folder
   * lacks is written.
   */
  static async start(options: ProjectFolderOptions, share: boolean): Promise<ProjectFolder> {
    const folder = new ProjectFolder(options)
    // Two files whose names differ only in case (made on Linux) would be one file here: each gets a
    // name of its own on this device.
    const tree = options.project.durable.tree
    if (options.namesFold ?? (await namesFoldIn(options.dir))) tree.foldNames()
    // A project made elsewhere can hold "aux.c" or "what?.md", which Windows cannot write at all.
    if (options.windowsNames ?? process.platform === 'win32') tree.windowsNames()
    // The watch first: a change made while the folder is read is not missed (it is read after).
    folder.watcher = await FolderWatcher.start(options.dir, {
      debounceMs: options.watchDebounceMs ?? 100,
      // Meshpad's own writes come back: told apart by their hash, they are not decoded again.
      written: (path) => folder.mirror.hashAt(path),
      // Read and handled in one step of the queue: what a write does between the two would be taken
      // for a change made by another program (a file written since the read, for one deleted).
      exclusive: (read) =>
        folder.step(async () => {
          await read()
          for (const delta of folder.deltas.splice(0)) await folder.fromDisk(delta)
        }),
      onDelta: (delta) => folder.deltas.push(delta),
      onError: (err) => options.log(`watching ${options.dir}: ${err.message}`),
    })
    folder.listen()
    folder.enqueue(() => folder.takeUp(share))
    await folder.work
    return folder
  }

  get project(): DocSession {
    return this.options.project
  }

  /** The files in the folder that the project leaves out (binary, too large, …), by path. */
  notShared(): LeftOutFile[] {
    return this.leftOut.list()
  }

  get tree(): FileTree {
    return this.options.project.durable.tree
  }

  /** The folder as the project has it: every file's and folder's path, sorted. */
  list(): { path: string; kind: 'file' | 'folder'; node: string }[] {
    return this.tree.list(MAX_LISTED_PATH).map((e) => ({ path: e.path, kind: e.kind, node: e.id }))
  }

  /** The document of the file at `path` (opened if needed); undefined if no file is there. */
  async openPath(path: string): Promise<DocSession | undefined> {
    const entry = this.tree.list(MAX_LISTED_PATH).find((e) => e.path === path && e.kind === 'file')
    return entry && this.options.workspace.openFile(this.project, entry.id)
  }

  /** Resolves once everything waiting has been written to the folder. */
  async flushNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.enqueue(() => this.toDisk())
    await this.work
  }

  /** Stops watching and listening, after writing what is waiting. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.watcher?.close()
    for (const stop of this.stops.splice(0)) stop()
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.work = this.work.then(() => this.toDisk()).catch((err: unknown) => this.report(err))
    await this.work
  }

  // ---- the project to the folder -----------------------------------------------------------------

  private listen(): void {
    const { workspace, project } = this.options
    const onTree = (): void => this.schedule()
    project.on('tree', onTree)
    this.stops.push(() => project.off('tree', onTree))
    this.stops.push(workspace.followFiles(project.docId, (doc) => this.subscribe(doc)))
    // A file whose text is not in the folder yet stays open until it is written (it would not be
    // written while closed: its text is read from its document).
    this.stops.push(workspace.addCloseGuard((doc) => doc.project !== project.docId || this.written(doc)))
  }

  /** A file document's changes make a write; returns what stops that. */
  private subscribe(doc: DocSession): () => void {
    const onChange = (): void => this.schedule()
    doc.on('text', onChange)
    doc.on('props', onChange)
    this.schedule()
    return () => {
      doc.off('text', onChange)
      doc.off('props', onChange)
    }
  }

  /**
   * Whether the folder and the file document agree: the folder holds the document's text as it is
   * now, and no change another program made to the file waits to be merged into it (or the folder
   * does not follow the file: deleted from the tree).
   */
  private written(doc: DocSession): boolean {
    const node = this.options.workspace.fileNode(doc.docId)
    if (node === undefined || this.tree.place(node)?.kind !== 'file' || this.tree.path(node) === undefined)
      return true // not a file of the tree, or in the trash
    return !this.texts.pending(node) && this.mirror.stampOf(node) === this.texts.stamp(node)
  }

  /** A write to the folder soon: after a quiet `writeDelayMs`, at most `writeMaxDelayMs` after the first change. */
  private schedule(): void {
    if (this.closed) return
    const now = Date.now()
    if (this.timer) clearTimeout(this.timer)
    else this.firstChange = now
    const max = this.options.writeMaxDelayMs ?? 1000
    const wait = Math.min(this.options.writeDelayMs ?? 150, Math.max(0, this.firstChange + max - now))
    this.timer = setTimeout(() => {
      this.timer = null
      this.enqueue(() => this.toDisk())
    }, wait)
  }

  /**
   * Writes the tree and the files' texts to the folder, and records each written file's base. Only
   * the files whose documents changed since they were written are read (DiskTexts.stamp). A file
   * document closed while idle was written before it closed (`written`): only the files not in the
   * folder yet are opened.
   */
  private async toDisk(): Promise<void> {
    const { workspace, project } = this.options
    const nodes = fileNodes(this.tree)
    const unwritten = nodes.filter((node) => this.mirror.hashOf(node) === undefined)
    // A file refused (past the bound: Workspace.openFiles logged it) is left on disk as it is.
    await inParallel(unwritten, FILE_OPEN_PARALLEL, (node) =>
      workspace.openFile(project, node).then(
        () => undefined,
        () => undefined,
      ),
    )
    const before = new Map<string, string | undefined>()
    for (const node of nodes) before.set(node, this.mirror.hashOf(node))
    // The writer reads each text it writes with its history length (the base is the text written).
    this.texts.startReads()
    const problems = await this.mirror.toDisk()
    const bases = this.options.bases
    let changed = false
    for (const [node, count] of this.texts.takeReads()) {
      const hash = this.mirror.hashOf(node)
      if (hash === undefined || (hash === before.get(node) && bases.get(node)?.hash === hash)) continue
      bases.set(node, { hash, steps: count })
      changed = true
    }
    if (changed) await this.options.saveBases(bases)
    // A file changed on disk meanwhile is not overwritten: the watcher brings it, merged, then written.
    for (const p of problems) {
      if (p.why !== 'changed-on-disk')
        this.options.log(`${p.path}: ${p.why}${p.detail ? ` (${p.detail})` : ''}`)
    }
  }

  // ---- the folder to the project -----------------------------------------------------------------

  private async takeUp(share: boolean): Promise<void> {
    const scan = await scanFolder(this.options.dir)
    for (const f of scan.leftOut) this.options.log(`not shared: ${f.path} (${f.why})`)
    if (this.leftOut.replace(scan)) this.options.onLeftOut?.(this.leftOut.list())
    if (share) await this.commit(() => this.mirror.importScan(scan))
    else {
      const delta = this.mirror.adoptScan(scan)
      await this.commit(() => this.mirror.fromDisk(delta))
    }
    await this.toDisk()
  }

  private async fromDisk(delta: FolderDelta): Promise<void> {
    if (delta.rescan) {
      const scan = await scanFolder(this.options.dir)
      if (this.leftOut.replace(scan)) this.options.onLeftOut?.(this.leftOut.list())
      delta = this.mirror.rescanDelta(scan)
    } else if (this.leftOut.apply(delta)) this.options.onLeftOut?.(this.leftOut.list())
    await this.commit(() => this.mirror.fromDisk(delta))
  }

  /** Tree ops made from the folder (`make`), then the texts changed on disk, as this device's edits. */
  private async commit(make: () => TreeOp[]): Promise<void> {
    const project = this.options.project
    if (!canEdit(project.myRole)) {
      // Not even made: the tree is the project's, and a viewer's changes on disk are its own.
      // A file it changed is not adopted either: the writer leaves it as it is ('occupied').
      for (const node of this.texts.discard()) this.mirror.forget(node)
      if (!this.toldViewer) {
        this.toldViewer = true
        this.options.log('this device is a viewer of the project: changes made in its folder are not shared')
      }
      return
    }
    await project.changeTree(make)
    await this.texts.merge()
    this.schedule()
  }

  private enqueue(step: () => Promise<void>): void {
    void this.step(step)
  }

  /** Runs `step` after every step queued before it; resolves once it ran (its errors are reported). */
  private step(step: () => Promise<void>): Promise<void> {
    this.work = this.work.then(step).catch((err: unknown) => this.report(err))
    return this.work
  }

  private report(err: unknown): void {
    this.options.log(`folder ${this.options.dir}: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/**
 * Resolves once a joined project's first sync is over and its tree is complete here (or after
 * `timeoutMs`): a folder taken up before would add its files beside the project's own, not as them.
 */
export function firstSync(project: DocSession, timeoutMs: number): Promise<void> {
  return new Promise<void>((done) => {
    const timer = setTimeout(finish, timeoutMs)
    function finish(): void {
      clearTimeout(timer)
      project.off('sync', check)
      project.off('tree', check)
      done()
    }
    function check(): void {
      if (!project.syncState().syncing && project.treeCaughtUp()) finish()
    }
    project.on('sync', check)
    project.on('tree', check)
    check()
  })
}
