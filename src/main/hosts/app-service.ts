/**
 * AppService: the app API (src/shared/api.ts) over a PeerNode, in plain Node so that both hosts (Electron
 * IPC and browser mode) and the tests share it. Each host connects one `AppClient` per window: the
 * client is the window's view of the node (which documents it has open, where its events go).
 *
 * The node's DocSession owns each document's durable replica; a window's replica talks to it in op
 * batches only (`pushOps` in, `ops` events out), so nothing here ever maps positions.
 */
import { existsSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import {
  apiError,
  sameDocStatus,
  type ApiError,
  type ApiEvent,
  type ApiResult,
  type AppInfo,
  type DocRole,
  type DocStatus,
  type DocSummary,
  type MeshpadApi,
  type OpenedDoc,
  type SaveAsOptions,
} from '../../shared/api'
import { CrdtDecodeError, sameVersion, type VersionVector } from '../../shared/crdt'
import { deviceIdOf } from '../net/device-key'
import { NotAllowedError, type DocSession } from '../node/doc-session'
import { canEdit } from '../node/members'
import { InviteCodeError } from '../node/invite-code'
import { InviteKindError } from './invite-text'
import type { PeerNode } from '../node/peer-node'
import { WorkspaceError } from '../node/workspace'
import { notAFile, StorageError } from '../storage/errors'
import { FileLinks } from '../storage/file-links'
import { errnoCode, nodeFs, type StorageFs } from '../storage/fs-layer'
import { LinkedFile, type FileText, type LinkedFileOptions } from '../storage/linked-file'
import { answerOrderQuestion, readOrderQuestion } from './check-order'
import { Collaboration } from './collab-service'
import { ProjectError } from './project-checks'
import { ProjectService } from './project-service'
import { workspaceDocs } from './workspace-files'

export interface AppServiceOptions {
  readonly node: PeerNode
  readonly host: AppInfo['host']
  readonly version: string
  readonly dataDir: string
  readonly fs?: StorageFs
  /** How long the file watcher waits for a burst of writes to settle (default 150 ms). */
  readonly watchDebounceMs?: number
  /** How long a shared folder waits to write after a change (default 150 ms). */
  readonly folderWriteDelayMs?: number
}

/** One window's connection: the API plus the end of its event stream. */
export interface AppClient extends MeshpadApi {
  close(): void
}

type Listener = (event: ApiEvent) => void

/** The requests about documents and files; the rest of the API is collaboration (collab-service.ts). */
type DocumentRequests = Pick<
  MeshpadApi,
  | 'appInfo'
  | 'listDocuments'
  | 'newDocument'
  | 'openFile'
  | 'openDocument'
  | 'pushOps'
  | 'checkOrder'
  | 'save'
  | 'saveAs'
  | 'status'
  | 'closeDocument'
>

type ProjectRequest =
  | 'pickFolder'
  | 'listProjects'
  | 'shareFolder'
  | 'joinProject'
  | 'openProject'
  | 'closeProject'
  | 'projectPresence'
  | 'openProjectFile'
  | 'createEntry'
  | 'renameEntry'
  | 'moveEntry'
  | 'deleteEntry'
  | 'restoreEntry'

/** What this process knows about an open document beyond its DocSession: the file it is linked to. */
interface OpenDoc {
  readonly session: DocSession
  /**
   * The file (opened here, or written by Save As), or null: open, save, Save As, the watcher and the
   * merge of external changes are LinkedFile's (storage/linked-file.ts), the same code as the CLI's.
   */
  file: LinkedFile<DocSession> | null
  /** What the file holds, as text, and the version the document was at when it held exactly that. */
  savedText: string | null
  savedVersion: VersionVector | null
  /** The last saved-or-not answer and the version (as its counters' sum) it was for. */
  savedCheck: { stamp: number; saved: boolean } | null
  /** Saves run one at a time, in order (the first Save As makes `file`). */
  queue: Promise<unknown>
  readonly unsubscribe: () => void
}

interface ClientState {
  readonly listener: Listener
  readonly docs: Set<string>
  /**
   * Batches this client has: those it pushed (the node's echo of them is not sent back to it), and
   * this device's batches that were in its opening state before they were announced.
   */
  readonly pushed: WeakSet<Uint8Array>
  /**
   * The status of each open document that this window was told last, by an event or in a reply: it
   * hears every change from there, and no repeat (most keystrokes change nothing).
   */
  readonly statuses: Map<string, DocStatus>
  /** The projects this window opened: it hears their tree and presence. */
  readonly projects: Set<string>
  /**
   * The replicas this window was given for its editors, given back when it goes (`close`); by
   * document ID, not session: a project's file closes while idle, and its session must not be kept.
   */
  readonly replicas: { readonly docId: string; readonly replica: string }[]
  /** Gone: nothing it sends is applied any more (its replicas may be another window's now). */
  closed: boolean
}

const DOC_ID = /^[0-9a-f]{32}$/

const versionSum = (v: VersionVector): number => {
  let n = 0
  for (const k in v) n += v[k]!
  return n
}

/**
 * Save As onto a file that exists and is not the document's own, without `overwrite`: the user has to
 * say so first (the browser-mode UI asks; Electron's native Save dialog already asked).
 */
export class FileExistsError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists. Replace it only if you mean to, or choose another name.`)
    this.name = 'FileExistsError'
  }
}

/** Expected failures as ApiError values with a message a person can act on; the rest as INTERNAL. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof NotAllowedError) return apiError('NOT_ALLOWED', err.message)
  if (err instanceof StorageError) return apiError('STORAGE', err.message)
  if (err instanceof FileExistsError) return apiError('FILE_EXISTS', err.message)
  if (err instanceof CrdtDecodeError) return apiError('BAD_REQUEST', `Malformed op batch: ${err.message}`)
  // A shared folder's invite given to a document's Join: the window offers to open the project instead.
  if (err instanceof InviteKindError && err.kind === 'project') return apiError('PROJECT_INVITE', err.message)
  if (err instanceof InviteCodeError) return apiError('BAD_INVITE', err.message)
  if (err instanceof ProjectError) return apiError(err.code, err.message)
  if (err instanceof WorkspaceError) {
    const code =
      err.code === 'UNKNOWN_DOC' ? 'NOT_FOUND' : err.code === 'BAD_ARGUMENT' ? 'BAD_REQUEST' : err.code
    return apiError(code, err.message)
  }
  if (err instanceof RangeError || err instanceof TypeError) return apiError('BAD_REQUEST', err.message)
  return apiError('INTERNAL', `Unexpected error: ${err instanceof Error ? err.message : String(err)}`)
}

/** Save As's options: only `overwrite`, a boolean (false when absent). */
function overwriteOption(options: unknown): boolean {
  if (options === undefined || options === null) return false
  if (typeof options !== 'object') throw new TypeError('Save As options must be an object.')
  const overwrite = (options as SaveAsOptions).overwrite
  if (overwrite !== undefined && typeof overwrite !== 'boolean')
    throw new TypeError('Save As `overwrite` must be true or false.')
  return overwrite === true
}

export class AppService {
  private readonly node: PeerNode
  private readonly fs: StorageFs
  private readonly links: FileLinks
  private readonly docs = new Map<string, OpenDoc>()
  private readonly opening = new Map<string, Promise<OpenDoc>>()
  /** Files being opened, by real path: a second window opening the same file waits for the first. */
  private readonly openingFiles = new Map<string, Promise<OpenDoc>>()
  private readonly clients = new Set<ClientState>()
  private readonly onPeers = (): void => {
    for (const docId of this.docs.keys()) this.emitStatus(docId)
  }
  /** A file of a project closed while idle (no window showed it): tracked afresh once it opens again. */
  private readonly onFileClosed = (session: DocSession): void => {
    const d = this.docs.get(session.docId)
    if (d?.session !== session) return
    d.unsubscribe()
    this.docs.delete(session.docId)
  }
  private readonly unguard: () => void

  private readonly collab: Collaboration
  private readonly projects: ProjectService

  constructor(private readonly options: AppServiceOptions) {
    this.node = options.node
    this.fs = options.fs ?? nodeFs
    this.links = new FileLinks(this.fs, options.dataDir)
    this.node.workspace.on('peers', this.onPeers)
    this.node.workspace.on('file-closed', this.onFileClosed)
    // A file of a project stays open while a window shows it.
    this.unguard = this.node.workspace.addCloseGuard((doc) => !this.viewing(doc.docId))
    this.collab = new Collaboration({
      node: this.node,
      dataDir: options.dataDir,
      emit: (event, docId) => {
        if (docId === null) for (const c of this.clients) c.listener(event)
        else {
          // A project's window hears its project's members and invites (its Share panel) too.
          for (const c of this.clients) if (c.docs.has(docId) || c.projects.has(docId)) c.listener(event)
        }
      },
      viewing: (docId) => this.viewing(docId),
    })
    this.projects = new ProjectService({
      node: this.node,
      dataDir: options.dataDir,
      emit: (event, projectId) => {
        for (const c of this.clients) if (projectId === null || c.projects.has(projectId)) c.listener(event)
      },
      presenceOf: (session) => this.collab.presence(session),
      viewing: (docId) => this.viewing(docId),
      ...(options.folderWriteDelayMs !== undefined ? { writeDelayMs: options.folderWriteDelayMs } : {}),
      ...(options.watchDebounceMs !== undefined ? { watchDebounceMs: options.watchDebounceMs } : {}),
    })
  }

  /** A window connects: it gets its own API object; `listener` receives its events. */
  connect(listener: Listener): AppClient {
    const client: ClientState = {
      listener,
      docs: new Set(),
      pushed: new WeakSet(),
      statuses: new Map(),
      projects: new Set(),
      replicas: [],
      closed: false,
    }
    const told = (status: DocStatus): DocStatus => {
      client.statuses.set(status.docId, status)
      return status
    }
    this.clients.add(client)
    const run = async <T>(task: () => Promise<T>): Promise<ApiResult<T>> => {
      try {
        return { ok: true, value: await task() }
      } catch (err) {
        return toApiError(err)
      }
    }
    const opened = async (doc: Promise<OpenDoc>): Promise<OpenedDoc> => {
      const d = await doc
      const { session } = d
      const problems = session.durable.problems()
      const restore = await this.collab.takeUntold(session)
      // The state is taken, and the window subscribed, in one step and with no await after it: it
      // holds every op applied so far, and the window's events start where it ends. (An await between
      // the two, such as waiting for the state to be durable, lost the ops applied meanwhile: a peer's
      // are written with the next write, up to 25 ms later, so a window that opened while they came
      // never showed them.) None comes before the reply it belongs to.
      const state = this.openedDoc(d)
      client.replicas.push({ docId: state.docId, replica: state.replica })
      client.docs.add(state.docId)
      for (const batch of session.unannounced()) client.pushed.add(batch)
      told(state.status)
      // After the reply, so the window shows them over the document they are about.
      setImmediate(() => {
        for (const p of problems)
          listener({ type: 'error', docId: state.docId, error: apiError('STORAGE', p) })
        if (restore) listener({ type: 'restored', docId: state.docId, restore })
      })
      return state
    }
    return {
      appInfo: () => run(async () => this.appInfo()),
      listDocuments: () =>
        run(async () => {
          await this.node.docsOpened // the start screen lists every document, not just those open so far
          await this.projects.known // not `ready`: taking a big folder up again must not hold the list
          // A project's files and the project are listed as the project (listProjects), not here.
          return this.node.workspace
            .openDocs()
            .filter((s) => s.project === undefined && !this.projects.isProject(s.docId))
            .map((s) => this.summary(s))
        }),
      newDocument: (title) =>
        run(() => {
          if (typeof title !== 'string') throw new TypeError('The title must be a string.')
          return opened(this.newDocument(title))
        }),
      openFile: (path) =>
        run(() => {
          if (typeof path !== 'string' || path === '')
            throw new TypeError('The path must be a non-empty string.')
          return opened(this.openFile(path))
        }),
      openDocument: (docId) => run(() => opened(this.track(this.requireDocId(docId)))),
      pushOps: (docId, batch) =>
        run(async () => {
          if (!(batch instanceof Uint8Array)) throw new TypeError('The batch must be bytes.')
          const d = await this.track(this.requireDocId(docId))
          // A request that started before the window went, and waited: its replica may be another's now.
          if (client.closed) throw new WorkspaceError('CLOSED', 'This window is closed.')
          client.pushed.add(batch)
          await d.session.applyLocalBatch(batch)
          return told(this.status(d))
        }),
      checkOrder: (docId, version, digest) =>
        run(async () => {
          const id = this.requireDocId(docId)
          const question = readOrderQuestion(version, digest)
          return answerOrderQuestion((await this.track(id)).session, question)
        }),
      save: (docId) =>
        run(async () => told(await this.save(await this.track(this.requireDocId(docId)), null))),
      saveAs: (docId, path, options) =>
        run(async () => {
          if (typeof path !== 'string' || path === '')
            throw new TypeError('The path must be a non-empty string.')
          const overwrite = overwriteOption(options)
          return told(await this.save(await this.track(this.requireDocId(docId)), { path, overwrite }))
        }),
      status: (docId) => run(async () => told(this.status(await this.track(this.requireDocId(docId))))),
      closeDocument: (docId) =>
        run(async () => {
          // The node keeps the document open and syncing; only this window stops hearing about it.
          const id = this.requireDocId(docId)
          client.docs.delete(id)
          client.statuses.delete(id)
          return null
        }),
      ...this.collabRequests(run),
      ...this.projectRequests(run, client, opened),
      close: () => {
        this.clients.delete(client)
        client.closed = true
        // Nothing more comes from it: its replicas go to the next windows (doc-provenance.ts). A session
        // opened again since never handed them out, and keeps none.
        for (const { docId, replica } of client.replicas.splice(0))
          this.node.workspace.doc(docId)?.releaseReplica(replica)
      },
    }
  }

  /** The collaboration requests (collab-service.ts), each on the document its docId names. */
  private collabRequests(
    run: <T>(task: () => Promise<T>) => Promise<ApiResult<T>>,
  ): Omit<MeshpadApi, keyof DocumentRequests | ProjectRequest> {
    const c = this.collab
    const on = <T>(docId: unknown, task: (session: DocSession) => T | Promise<T>): Promise<ApiResult<T>> =>
      run(async () => task((await this.track(this.requireDocId(docId))).session))
    return {
      nearby: () => run(async () => c.nearby()),
      addPeer: (address) => run(async () => c.addPeer(address)),
      requestJoin: (device, docId) => run(async () => c.requestJoin(device, this.requireDocId(docId))),
      joinWithInvite: (code) => run(() => c.joinWithInvite(code)),
      joinRequests: () => run(async () => c.joinRequests()),
      answerJoin: (id, accept, role) => run(() => c.answerJoin(id, accept, role)),
      sharing: (docId) => on(docId, (s) => c.sharing(s)),
      setSharedOnLan: (docId, value) => on(docId, (s) => c.setSharedOnLan(s, value)),
      createInvite: (docId, role) =>
        on(docId, (s) => c.createInvite(s, role, this.projects.holds(s.docId) ? 'project' : 'doc')),
      revokeInvite: (docId, inviteId) => on(docId, (s) => c.revokeInvite(s, inviteId)),
      setRole: (docId, device, role) => on(docId, (s) => c.setRole(s, device, role)),
      removeMember: (docId, device) => on(docId, (s) => c.removeMember(s, device)),
      setPresence: (docId, cursor) => on(docId, async (s) => (await c.ready, c.setPresence(s, cursor))),
      presence: (docId) => on(docId, (s) => c.presence(s)),
      authors: (docId) => on(docId, (s) => c.authors(s)),
      props: (docId) => on(docId, (s) => c.props(s)),
      setProp: (docId, key, value) => on(docId, (s) => c.setProp(s, key, value)),
      deleteProp: (docId, key) => on(docId, (s) => c.deleteProp(s, key)),
      noteRestore: (docId, report) => on(docId, (s) => c.noteRestore(s, report)),
      settings: () => run(async () => (await c.ready, c.settings())),
      setSettings: (change) =>
        run(async () => {
          await c.ready
          const settings = await c.setSettings(change)
          // Work offline changes every status, peers or none (with none, no connection event says so).
          this.onPeers()
          return settings
        }),
    }
  }

  /**
   * The project requests (project-service.ts). A project's file opens as a document does; its name is
   * the file's, live from the tree (the renderer follows renames by the `tree` event).
   */
  private projectRequests(
    run: <T>(task: () => Promise<T>) => Promise<ApiResult<T>>,
    client: ClientState,
    opened: (doc: Promise<OpenDoc>) => Promise<OpenedDoc>,
  ): Pick<MeshpadApi, ProjectRequest> {
    const p = this.projects
    const on = <T>(projectId: unknown, task: (id: string) => T | Promise<T>): Promise<ApiResult<T>> =>
      run(async () => {
        const id = this.requireDocId(projectId)
        await p.ready
        return task(id)
      })
    return {
      pickFolder: () =>
        run(async () => {
          throw new ProjectError('NOT_SUPPORTED', "There is no folder dialog here: type the folder's path.")
        }),
      listProjects: () => run(async () => (await p.ready, p.list())),
      shareFolder: (path) => run(() => p.share(path)),
      joinProject: (code, path) => run(() => p.join(code, path)),
      openProject: (projectId) =>
        on(projectId, async (id) => {
          const info = p.info(id)
          // Watched like an open document, so that its windows hear of its members and of this
          // device's role ('sharing'): made a viewer, or removed.
          await this.track(id)
          client.projects.add(id)
          return info
        }),
      closeProject: (projectId) =>
        on(projectId, (id) => {
          client.projects.delete(id)
          return null
        }),
      projectPresence: (projectId) => on(projectId, (id) => p.presence(id)),
      openProjectFile: (projectId, node) =>
        on(projectId, async (id) => {
          const { session, name, awaySince } = await p.openFile(id, node)
          const doc = await opened(this.track(session.docId))
          return { ...doc, title: name, fileName: name, ...(awaySince ? { awaySince } : {}) }
        }),
      createEntry: (projectId, parent, name, kind) => on(projectId, (id) => p.create(id, parent, name, kind)),
      renameEntry: (projectId, node, name) => on(projectId, (id) => p.rename(id, node, name)),
      moveEntry: (projectId, node, parent) => on(projectId, (id) => p.move(id, node, parent)),
      deleteEntry: (projectId, node) => on(projectId, (id) => p.remove(id, node)),
      restoreEntry: (projectId, node) => on(projectId, (id) => p.restore(id, node)),
    }
  }

  /** Stops the shared folders, after writing what waits to them. */
  closeProjects(): Promise<void> {
    return this.projects.close()
  }

  close(): void {
    void this.projects.close()
    this.collab.close()
    this.node.workspace.off('peers', this.onPeers)
    this.node.workspace.off('file-closed', this.onFileClosed)
    this.unguard()
    for (const d of this.docs.values()) d.unsubscribe()
    this.docs.clear()
    this.clients.clear()
  }

  /** Whether a window shows the document. */
  private viewing(docId: string): boolean {
    for (const c of this.clients) if (c.docs.has(docId)) return true
    return false
  }

  private appInfo(): AppInfo {
    return {
      name: 'Meshpad',
      version: this.options.version,
      host: this.options.host,
      platform: process.platform,
      deviceId: deviceIdOf(this.node.identity.publicKey),
      displayName: this.node.workspace.name,
    }
  }

  private requireDocId(docId: unknown): string {
    if (typeof docId !== 'string' || !DOC_ID.test(docId)) {
      throw new WorkspaceError('BAD_ARGUMENT', `Not a document ID: expected 32 hex digits.`)
    }
    return docId
  }

  private summary(session: DocSession): DocSummary {
    const role = session.myRole
    const docRole: DocRole | null = role === 'owner' || role === 'editor' || role === 'viewer' ? role : null
    return {
      docId: session.docId,
      title: session.title,
      path: this.docs.get(session.docId)?.file?.path ?? null,
      role: docRole,
    }
  }

  /**
   * What a window opens the document with, as of now: its ops as applied, durable or not, as the
   * window's 'ops' events are (a peer's ops are shown before this node writes them).
   */
  private openedDoc(d: OpenDoc): OpenedDoc {
    // A long history goes as the snapshot, which the window reads in proportion to the text (the node
    // would otherwise read the whole history to encode every op, and the window apply them all).
    const snapshot = d.session.durable.windowSnapshot()
    const state = snapshot ? new Uint8Array(0) : d.session.durable.allTextOps()
    const replica = d.session.mintReplica()
    // Its claim and author record go out now rather than with the window's first keystroke; should
    // that fail, the first keystroke tries again and the window hears why.
    d.session.prepareToEdit(replica).catch(() => undefined)
    return {
      ...this.summary(d.session),
      state,
      ...(snapshot ? { snapshot } : {}),
      fileName: d.file ? basename(d.file.path) : d.session.title || null,
      replica,
      status: this.status(d),
    }
  }

  /** The document's OpenDoc, made on first use (one per document, shared by every window). */
  private track(docId: string): Promise<OpenDoc> {
    const known = this.docs.get(docId)
    if (known) return Promise.resolve(known)
    let pending = this.opening.get(docId)
    if (!pending) {
      pending = this.node.workspace
        .openDoc(docId)
        .then((session) => this.attach(session))
        .finally(() => this.opening.delete(docId))
      this.opening.set(docId, pending)
    }
    return pending
  }

  private attach(session: DocSession): OpenDoc {
    const docId = session.docId
    const onBatch = (batch: Uint8Array, _origin: unknown, catchUp: boolean): void => {
      for (const c of this.clients) {
        if (!c.docs.has(docId) || c.pushed.has(batch)) continue
        c.listener(catchUp ? { type: 'ops', docId, batch, catchUp } : { type: 'ops', docId, batch })
      }
      this.emitStatus(docId)
    }
    const onError = (err: Error): void =>
      this.broadcast(docId, { type: 'error', docId, error: toApiError(err) })
    const onReset = (): void => this.broadcast(docId, { type: 'reset', docId })
    session.on('batch', onBatch)
    session.on('reset', onReset)
    const onSync = (): void => this.emitStatus(docId)
    session.on('sync', onSync)
    session.on('error', onError)
    const unwatch = this.collab.watch(session)
    const d: OpenDoc = {
      session,
      file: null,
      savedText: null,
      savedVersion: null,
      savedCheck: null,
      queue: Promise.resolve(),
      unsubscribe: () => {
        session.off('batch', onBatch)
        session.off('reset', onReset)
        session.off('sync', onSync)
        session.off('error', onError)
        unwatch()
        d.file?.close().catch(() => undefined)
      },
    }
    this.docs.set(docId, d)
    return d
  }

  private async newDocument(title: string): Promise<OpenDoc> {
    const session = await this.node.workspace.createDoc(title)
    return this.track(session.docId)
  }

  /** The document linked to the file (reopened, with history) or a new one made from its text. */
  private async openFile(path: string): Promise<OpenDoc> {
    if (!existsSync(path)) throw new StorageError('NOT_FOUND', path, `There is no file at ${path}.`)
    const realPath = await this.fs.realpath(path).catch(() => path)
    let pending = this.openingFiles.get(realPath)
    if (!pending) {
      pending = this.linkFile(realPath).finally(() => this.openingFiles.delete(realPath))
      this.openingFiles.set(realPath, pending)
    }
    return pending
  }

  /**
   * Opens the file with LinkedFile: the file as Meshpad left it keeps the document as it is (unsaved
   * edits included) and its recorded format; a file changed meanwhile is merged in from the stored base.
   */
  private async linkFile(path: string): Promise<OpenDoc> {
    const linked = await this.links.docIdFor(path)
    const known = linked === undefined ? undefined : this.docs.get(linked)
    if (known?.file) return known
    const target: { d: OpenDoc | null; latest: FileText | null } = { d: null, latest: null }
    const file = await LinkedFile.openWith(workspaceDocs(this.node), this.fileOptions(path, target))
    const d = await this.track(file.docId)
    if (d.file) {
      await file.close()
      return d
    }
    d.file = file
    target.d = d
    if (target.latest) this.fileSaved(d, target.latest)
    return d
  }

  /**
   * LinkedFile's options for the file at `path` of the document `target.d` (set once known; what the
   * file holds is kept in `target.latest` until then).
   */
  private fileOptions(
    path: string,
    target: { d: OpenDoc | null; latest: FileText | null },
  ): LinkedFileOptions {
    return {
      path,
      links: this.links,
      fs: this.fs,
      ...(this.options.watchDebounceMs !== undefined ? { debounceMs: this.options.watchDebounceMs } : {}),
      onFileText: (text) => {
        target.latest = text
        if (target.d) this.fileSaved(target.d, text)
      },
      onExternalChange: () => {
        if (target.d) this.emitStatus(target.d.session.docId)
      },
      onError: (err) => {
        const docId = target.d?.session.docId
        if (docId) this.broadcast(docId, { type: 'error', docId, error: toApiError(err) })
      },
    }
  }

  /** The file holds `file.text` now (opened, saved, or changed by another program and merged). */
  private fileSaved(d: OpenDoc, file: FileText): void {
    d.savedText = file.text
    d.savedVersion = file.version
    d.savedCheck = null
    this.emitStatus(d.session.docId)
  }

  /** Writes the text atomically in the file's own encoding and line endings (Save, or Save As to `to`). */
  private save(d: OpenDoc, to: { path: string; overwrite: boolean } | null): Promise<DocStatus> {
    const saving = d.queue.then(() => this.write(d, to))
    d.queue = saving.catch(() => undefined)
    return saving
  }

  private async write(d: OpenDoc, to: { path: string; overwrite: boolean } | null): Promise<DocStatus> {
    // In the queue, so that it is checked against the file the saves before it linked.
    if (to) await this.checkSaveTarget(d, to.path, to.overwrite)
    const path = to?.path ?? null
    const before = d.file?.path ?? null
    if (d.file) {
      await (path === null ? d.file.save() : d.file.saveAs(path))
    } else {
      if (!path) {
        throw new StorageError('NOT_FOUND', '', 'This document is not linked to a file yet: use Save As.')
      }
      const target = { d, latest: null }
      d.file = await LinkedFile.saveNew(workspaceDocs(this.node), d.session, this.fileOptions(path, target))
    }
    if (path !== null) await this.titleFollowsFile(d.session, before, d.file.path)
    this.emitStatus(d.session.docId)
    return this.status(d)
  }

  /**
   * A document is named by its title property, else its file (shared/doc-title.ts). A title that was
   * the file's name (opening a file sets it, so joiners see it), or none, follows the file to its new
   * name, for everyone; one set by hand stays.
   */
  private async titleFollowsFile(session: DocSession, from: string | null, to: string): Promise<void> {
    const title = session.title
    const name = basename(to)
    // "Untitled" is the title new documents were given before they had none.
    const followed = title === '' || title === 'Untitled' || (from !== null && title === basename(from))
    if (title === name || !followed || !canEdit(session.myRole)) return
    await session.setProp('title', name)
  }

  /**
   * Save As may write to `path`: nothing is there, or it is the document's own file, or the request
   * says to overwrite. A folder is never a target. (Another program may still make the file between
   * this check and the write; that race is the user's own, as in any editor.)
   */
  private async checkSaveTarget(d: OpenDoc, path: string, overwrite: boolean): Promise<void> {
    let isDirectory: boolean
    try {
      isDirectory = (await this.fs.stat(path)).isDirectory()
    } catch {
      return this.checkSaveFolder(path) // nothing there: the folder must be
    }
    if (isDirectory) throw notAFile(path, 'save')
    if (overwrite) return
    const realPath = await this.fs.realpath(path).catch(() => resolve(path))
    if (d.file && realPath === d.file.path) return
    throw new FileExistsError(path)
  }

  /**
   * Save As to a new file in a folder that does not exist (or is a file) would fail with "the file
   * or its folder no longer exists", advice for a file deleted while open: say what is wrong instead.
   */
  private async checkSaveFolder(path: string): Promise<void> {
    const folder = dirname(resolve(path))
    let isDirectory: boolean
    try {
      isDirectory = (await this.fs.stat(folder)).isDirectory()
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') return // the write says why
      throw new StorageError(
        'NOT_FOUND',
        path,
        `There is no folder ${folder}: choose a folder that exists, or create it first. Your document is ` +
          'kept in Meshpad; nothing was lost.',
        { cause: err },
      )
    }
    if (!isDirectory) {
      throw new StorageError(
        'NOT_FOUND',
        path,
        `${folder} is a file, not a folder: choose a folder to save in. Your document is kept in ` +
          'Meshpad; nothing was lost.',
      )
    }
  }

  private status(d: OpenDoc): DocStatus {
    const session = d.session
    let saved = false
    if (d.file !== null && d.savedText !== null) {
      const version = session.textVersion()
      const stamp = versionSum(version)
      if (d.savedCheck?.stamp === stamp) saved = d.savedCheck.saved
      else {
        // The version is the cheap test; equal text after other edits (typed, then undone) is saved
        // too. Comparing texts builds the whole text, so it runs only when the lengths agree, and its
        // answer is kept until the next op (a version's counters only grow, so their sum names it).
        saved =
          (d.savedVersion !== null && sameVersion(version, d.savedVersion)) ||
          (session.durable.text.length === d.savedText.length && session.text === d.savedText)
        d.savedCheck = { stamp, saved }
      }
    }
    return {
      docId: session.docId,
      path: d.file?.path ?? null,
      saved,
      // A removed device's connections carry nothing of the document any more: its peers refuse it.
      peers: session.myRole === 'removed' ? 0 : session.peers().length,
      // "Offline" is the user's Work offline switch, not a lack of peers: a new document has none yet.
      online: this.node.online,
      ...session.syncState(),
    }
  }

  /** Tells the document's windows its status, each unless it is the one it last heard (most keystrokes). */
  private emitStatus(docId: string): void {
    const d = this.docs.get(docId)
    if (!d) return
    const status = this.status(d)
    for (const c of this.clients) {
      if (!c.docs.has(docId)) continue
      const last = c.statuses.get(docId)
      if (last && sameDocStatus(last, status)) continue
      c.statuses.set(docId, status)
      c.listener({ type: 'status', status })
    }
  }

  private broadcast(docId: string, event: ApiEvent): void {
    for (const c of this.clients) if (c.docs.has(docId)) c.listener(event)
  }
}
