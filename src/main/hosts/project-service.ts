/**
 * Shared folders for the app (issue 15, "UI"): the app API's project requests over the node's
 * projects, composed as the CLI's `meshpad peer --folder` composes them. Each folder shared or joined
 * on this device runs a ProjectFolder (src/main/project) while the app runs, and is taken up again at
 * the next start (folders.json in the data dir says which folder is which project).
 *
 * The renderer is untrusted: every argument is checked here before the tree sees it, and tree changes
 * go through the project's session, which refuses a viewer's (NOT_ALLOWED).
 */
import { mkdir, realpath, stat } from 'node:fs/promises'
import { basename, isAbsolute, sep } from 'node:path'
import type {
  ApiEvent,
  DeletedEntry,
  DocRole,
  NotSharedFile,
  PresenceInfo,
  ProjectEntry,
  ProjectInfo,
  ProjectSummary,
} from '../../shared/api'
import type { VersionVector } from '../../shared/crdt'
import { ROOT } from '../../shared/tree/tree-ops'
import type { DocSession } from '../node/doc-session'
import { fileDocId } from '../node/project-files'
import type { PeerNode } from '../node/peer-node'
import { FolderLinks } from '../project/folder-links'
import { firstSync, ProjectFolder } from '../project/project-folder'
import type { LeftOutFile } from '../folder/scan-folder'
import { StorageError } from '../storage/errors'
import { APP_JOIN, readInvite, requireInviteKind } from './invite-text'
import { ProjectAwayWatch } from './project-away'
import { ProjectPresenceWatch } from './project-presence'
import {
  checkEntryKind,
  checkEntryName,
  freeName,
  ProjectError,
  requireDeletedNode,
  requireFolder,
  requireLiveNode,
} from './project-checks'

/** How long a join waits for the project's first sync before the folder is taken up. */
const FIRST_SYNC_TIMEOUT_MS = 30_000
/** Longer paths than any file system takes: refused before anything touches the disk. */
const MAX_DIR_LENGTH = 4096
/** The deleted files and folders a window lists, latest first: the trash holds up to 100,000. */
export const MAX_DELETED_LISTED = 200

export interface ProjectServiceOptions {
  readonly node: PeerNode
  readonly dataDir: string
  /** An event for the windows that opened `projectId` (null: for every window). */
  readonly emit: (event: ApiEvent, projectId: string | null) => void
  /** The people in a document, as the people bar shows them (collab-service.ts). */
  readonly presenceOf: (session: DocSession) => PresenceInfo[]
  /** Whether a window has the document open (its editor shows what changed while away itself). */
  readonly viewing: (docId: string) => boolean
  /** ProjectFolder's write delay (tests make it short). */
  readonly writeDelayMs?: number
  readonly watchDebounceMs?: number
}

interface Running {
  readonly project: DocSession
  readonly dir: string
  readonly folder: ProjectFolder
  readonly presence: ProjectPresenceWatch
  readonly away: ProjectAwayWatch
  readonly stop: () => void
}

export class ProjectService {
  /** Settles once the folders linked before are running again (or logged as not). */
  readonly ready: Promise<void>
  /** Settles once it is known which documents are projects (folders.json read: quick). */
  readonly known: Promise<void>
  private markKnown: () => void = () => undefined
  /** Projects linked to a folder on this device, running or not yet. */
  private readonly linked = new Set<string>()
  private links: FolderLinks | null = null
  private readonly running = new Map<string, Running>()
  /** Joins asked for and not answered yet: project → the folder to take it into. */
  private readonly joins = new Map<string, string>()
  private closed = false
  private readonly onJoinResult = (docId: string, ok: boolean, reason: string): void => {
    const dir = this.joins.get(docId)
    if (dir === undefined) return
    this.joins.delete(docId)
    const told = (ok: boolean, message: string): void =>
      this.options.emit({ type: 'project-joined', projectId: docId, ok, message }, null)
    if (!ok) return told(false, `Could not join the project: ${reason}`)
    void this.takeUpJoined(docId, dir).then(
      () => told(true, ''),
      (err: unknown) => told(false, `The project could not be kept in ${dir}: ${messageOf(err)}`),
    )
  }

  constructor(private readonly options: ProjectServiceOptions) {
    options.node.workspace.on('join-result', this.onJoinResult)
    this.known = new Promise((resolve) => (this.markKnown = resolve))
    this.ready = this.resume()
      .catch((err: unknown) => this.log(`shared folders: ${messageOf(err)}`))
      .finally(() => this.markKnown())
  }

  list(): ProjectSummary[] {
    return [...this.running.values()].map((r) => this.summary(r))
  }

  /** Whether a document is a project of a folder on this device (once `known`). */
  isProject(docId: string): boolean {
    return this.linked.has(docId) || this.running.has(docId)
  }

  /** Shares the folder at `path` as a new project (or, if it is shared already, that project). */
  async share(path: unknown): Promise<ProjectSummary> {
    const dir = await this.existingFolder(path)
    const links = await this.linksReady()
    const linked = await links.projectOf(dir)
    const known = linked === undefined ? undefined : this.running.get(linked)
    if (known) return this.summary(known)
    this.checkNotNested(dir)
    const project = await this.options.node.workspace.createDoc(basename(dir) || dir)
    await links.link(dir, project.docId)
    return this.summary(await this.run(project, dir, true))
  }

  /** Asks to join the invite's project into the folder at `path`; `project-joined` tells the outcome. */
  async join(code: unknown, path: unknown): Promise<string> {
    if (typeof code !== 'string') throw new ProjectError('BAD_REQUEST', 'Paste the invite you were sent.')
    const invite = readInvite(code)
    requireInviteKind(invite, 'project', APP_JOIN)
    const given = checkDir(path)
    const links = await this.linksReady()
    if (this.options.node.workspace.doc(invite.docId))
      throw new ProjectError('BAD_REQUEST', 'This device holds that project already: open it instead.')
    await mkdir(given, { recursive: true }).catch((err: unknown) => {
      throw new StorageError('NOT_FOUND', given, `Could not make the folder ${given}.`, { cause: err })
    })
    const dir = await this.existingFolder(given)
    if ((await links.projectOf(dir)) !== undefined)
      throw new ProjectError('BAD_REQUEST', `${dir} is shared already: join into another folder.`)
    this.checkNotNested(dir)
    this.joins.set(invite.docId, dir)
    try {
      await this.options.node.joinWithInvite(invite)
    } catch (err) {
      this.joins.delete(invite.docId)
      throw err
    }
    return invite.docId
  }

  /** Whether this device runs `projectId` as a shared folder's project. */
  holds(projectId: string): boolean {
    return this.running.has(projectId)
  }

  info(projectId: string): ProjectInfo {
    const r = this.require(projectId)
    return {
      ...this.summary(r),
      entries: this.entries(r),
      deleted: this.deleted(r),
      away: r.away.now(),
      notShared: notShared(r.folder.notShared()),
    }
  }

  presence(projectId: string): ReturnType<ProjectPresenceWatch['now']> {
    return this.require(projectId).presence.now()
  }

  /** The document of a file of the project, opened; and its name, which the editor shows. */
  /**
   * The document of a file of the project, opened; the name the editor shows; and, if others changed
   * it while this device was away, the version from which the editor highlights what they did.
   */
  async openFile(
    projectId: string,
    node: unknown,
  ): Promise<{ session: DocSession; name: string; awaySince: VersionVector | undefined }> {
    const r = this.require(projectId)
    const id = requireLiveNode(r.project.durable.tree, node)
    if (r.project.durable.tree.place(id)?.kind !== 'file')
      throw new ProjectError('BAD_REQUEST', 'That is a folder: open a file in it.')
    const session = await this.options.node.workspace.openFile(r.project, id)
    const awaySince = r.away.seen(session.docId)
    const path = r.project.durable.tree.path(id) ?? ''
    return { session, name: path.slice(path.lastIndexOf('/') + 1), awaySince }
  }

  async create(projectId: string, parent: unknown, name: unknown, kind: unknown): Promise<string> {
    const r = this.require(projectId)
    const tree = r.project.durable.tree
    const folder = requireFolder(tree, parent)
    const k = checkEntryKind(kind)
    const n = checkEntryName(tree, folder, name, undefined)
    let made = ''
    await r.project.changeTree((t) => {
      const { id, op } = t.create(folder, n, k)
      made = id
      return op
    })
    return made
  }

  async rename(projectId: string, node: unknown, name: unknown): Promise<null> {
    const r = this.require(projectId)
    const tree = r.project.durable.tree
    const id = requireLiveNode(tree, node)
    const n = checkEntryName(tree, tree.place(id)!.parent, name, id)
    await r.project.changeTree((t) => t.rename(id, n))
    return null
  }

  async move(projectId: string, node: unknown, parent: unknown): Promise<null> {
    const r = this.require(projectId)
    const tree = r.project.durable.tree
    const id = requireLiveNode(tree, node)
    const folder = requireFolder(tree, parent)
    const place = tree.place(id)!
    if (place.parent === folder) return null
    checkEntryName(tree, folder, place.name, id)
    await r.project.changeTree((t) => t.move(id, folder))
    return null
  }

  async remove(projectId: string, node: unknown): Promise<null> {
    const r = this.require(projectId)
    const id = requireLiveNode(r.project.durable.tree, node)
    await r.project.changeTree((t) => t.remove(id))
    return null
  }

  /**
   * Puts a deleted file or folder back: into the folder it was in if that is still there, else the
   * top; under its name, or a free one (freeName). Its document kept its text, which is written to
   * every member's folder again. Resolves with its path.
   */
  async restore(projectId: string, node: unknown): Promise<string> {
    const r = this.require(projectId)
    const tree = r.project.durable.tree
    const id = requireDeletedNode(tree, node)
    const from = tree.deletedFrom(id)
    const folder = from && (from.parent === ROOT || tree.path(from.parent) !== undefined) ? from.parent : ROOT
    const name = freeName(tree, folder, from?.name ?? tree.place(id)!.name)
    await r.project.changeTree((t) => t.move(id, folder, name))
    return tree.path(id) ?? name
  }

  /** Stops every folder (after writing what waits). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.options.node.workspace.off('join-result', this.onJoinResult)
    await this.ready
    const running = [...this.running.values()]
    this.running.clear()
    for (const r of running) r.stop()
    await Promise.all(running.map((r) => r.folder.close()))
  }

  // ---- internals ---------------------------------------------------------------------------------

  private require(projectId: string): Running {
    const r = this.running.get(projectId)
    if (!r) throw new ProjectError('NOT_FOUND', 'This device shares no folder as that project.')
    return r
  }

  private summary(r: Running): ProjectSummary {
    const role = r.project.myRole
    const docRole: DocRole | null = role === 'owner' || role === 'editor' || role === 'viewer' ? role : null
    return {
      projectId: r.project.docId,
      title: r.project.title || basename(r.dir),
      dir: r.dir,
      role: docRole,
    }
  }

  private entries(r: Running): ProjectEntry[] {
    const projectId = r.project.docId
    return r.folder.list().map((e) => ({
      node: e.node,
      path: e.path,
      kind: e.kind,
      docId: e.kind === 'file' ? fileDocId(projectId, e.node) : null,
    }))
  }

  private deleted(r: Running): DeletedEntry[] {
    const tree = r.project.durable.tree
    return tree.deleted(MAX_DELETED_LISTED).map((d) => ({
      node: d.id,
      name: d.name,
      kind: d.kind,
      from: d.from === undefined ? null : d.from.parent === ROOT ? '' : (tree.path(d.from.parent) ?? null),
      deletedAt: d.stamp.wall,
    }))
  }

  private async linksReady(): Promise<FolderLinks> {
    await this.ready
    if (!this.links) throw new ProjectError('INTERNAL', 'The shared folders could not be read: see the log.')
    if (this.closed) throw new ProjectError('INTERNAL', 'Meshpad is closing.')
    return this.links
  }

  /** The folders shared before, running again; one that is gone is logged and left linked. */
  private async resume(): Promise<void> {
    const { node, dataDir } = this.options
    this.links = await FolderLinks.open(dataDir, (m) => this.log(m))
    for (const { project } of this.links.list()) this.linked.add(project)
    this.markKnown()
    await node.docsOpened
    for (const { dir, project } of this.links.list()) {
      try {
        if (!(await stat(dir)).isDirectory()) throw new Error('not a folder')
        await this.run(await node.workspace.openDoc(project), dir, false)
      } catch (err) {
        this.log(`shared folder ${dir} is not kept in step: ${messageOf(err)}`)
      }
    }
  }

  private async takeUpJoined(projectId: string, dir: string): Promise<void> {
    const project = this.options.node.workspace.doc(projectId)
    if (!project) throw new Error('the project is not open')
    // The tree first: the folder is then taken up against the project's files, not beside them.
    await firstSync(project, FIRST_SYNC_TIMEOUT_MS)
    await (await this.linksReady()).link(dir, projectId)
    await this.run(project, dir, false)
  }

  private async run(project: DocSession, dir: string, share: boolean): Promise<Running> {
    if (this.closed) throw new ProjectError('INTERNAL', 'Meshpad is closing.')
    const links = this.links!
    this.linked.add(project.docId)
    const { node, writeDelayMs, watchDebounceMs } = this.options
    const folder = await ProjectFolder.start(
      {
        workspace: node.workspace,
        project,
        dir,
        bases: await links.bases(dir),
        saveBases: (b) => links.saveBases(dir, b),
        log: (m) => this.log(m),
        ...(writeDelayMs !== undefined ? { writeDelayMs } : {}),
        ...(watchDebounceMs !== undefined ? { watchDebounceMs } : {}),
        onLeftOut: (files) =>
          this.options.emit(
            { type: 'project-not-shared', projectId: project.docId, files: notShared(files) },
            project.docId,
          ),
      },
      share,
    )
    const projectId = project.docId
    const presence = new ProjectPresenceWatch({
      workspace: node.workspace,
      project,
      presenceOf: this.options.presenceOf,
      changed: (files) => this.options.emit({ type: 'project-presence', projectId, files }, projectId),
    })
    const away = new ProjectAwayWatch({
      workspace: node.workspace,
      project,
      viewing: this.options.viewing,
      changed: (files) => this.options.emit({ type: 'project-away', projectId, files }, projectId),
    })
    // A burst of tree ops (a git checkout) is one event: the whole tree, once it settles.
    let pending: NodeJS.Immediate | null = null
    const onTree = (): void => {
      presence.treeChanged()
      away.treeChanged()
      pending ??= setImmediate(() => {
        pending = null
        const r = this.running.get(projectId)
        if (r)
          this.options.emit(
            { type: 'tree', projectId, entries: this.entries(r), deleted: this.deleted(r) },
            projectId,
          )
      })
    }
    project.on('tree', onTree)
    const r: Running = {
      project,
      dir,
      folder,
      presence,
      away,
      stop: () => {
        project.off('tree', onTree)
        if (pending) clearImmediate(pending)
        presence.close()
        away.close()
      },
    }
    this.running.set(projectId, r)
    return r
  }

  /** The real path of an existing folder, or a StorageError that says what is there instead. */
  private async existingFolder(path: unknown): Promise<string> {
    const dir = checkDir(path)
    let isDirectory: boolean
    try {
      isDirectory = (await stat(dir)).isDirectory()
    } catch (err) {
      throw new StorageError('NOT_FOUND', dir, `There is no folder ${dir}.`, { cause: err })
    }
    if (!isDirectory) throw new StorageError('NOT_FOUND', dir, `${dir} is a file: choose a folder.`)
    return realpath(dir)
  }

  /** One folder inside another shared one would be written by both: refused. */
  private checkNotNested(dir: string): void {
    for (const { dir: other } of this.links?.list() ?? []) {
      if (dir.startsWith(other + sep) || other.startsWith(dir + sep))
        throw new ProjectError('BAD_REQUEST', `${dir} and ${other} are shared already, one inside the other.`)
    }
  }

  private log(message: string): void {
    this.options.node.log(message)
  }
}

/** A folder path from the renderer: a non-empty absolute path of sane length. */
function checkDir(path: unknown): string {
  if (typeof path !== 'string' || path.trim() === '' || path.length > MAX_DIR_LENGTH || path.includes('\0'))
    throw new ProjectError('BAD_REQUEST', 'Give the folder as a path, e.g. /home/you/project.')
  const dir = path.trim()
  if (!isAbsolute(dir))
    throw new ProjectError('BAD_REQUEST', `Give the folder's whole path (from /), not ${dir}.`)
  return dir
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** The files a folder leaves out, as the window lists them (what the system said stays in the log). */
function notShared(files: readonly LeftOutFile[]): NotSharedFile[] {
  return files.map((f) => ({ path: f.path, why: f.why }))
}
