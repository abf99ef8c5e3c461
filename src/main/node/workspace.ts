/**
 * Workspace: the peer node's documents and peers. It opens documents (DocSession), runs one protocol
 * session (PeerSession) per authenticated connection, answers the sessions' questions (which documents,
 * which invites, which join requests), and runs anti-entropy. Connections come from outside through
 * `attach` — the TCP transport in the app and CLI, an in-memory pair in tests — so this file knows no
 * sockets.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import {
  ProtocolError,
  isDocId,
  type DenyCode,
  type Role,
  type FileVersion,
  type SharedDocInfo,
} from '../../shared/sync/messages'
import { PeerSession, inviteProof, type SessionHost } from '../../shared/sync/session'
import { DamagedStateError } from '../../shared/crdt'
import { fromHex, toHex } from '../../shared/sync/hex'
import type { PeerConnection } from '../../shared/sync/peer-connection'
import type { DocStore } from '../storage/doc-store'
import { DurableDoc } from '../storage/durable-doc'
import { docIdFor, type Sign } from '../../shared/members/member-op'
import { memberCrypto, nodeCrypto, randomId, randomKey } from './crypto'
import { DocSession, type DocSecrets } from './doc-session'
import { makeClaim, NONCE_BYTES } from './replica-seal'
import { encodeInvite, type InviteCode, type InviteKind } from './invite-code'
import { admit, type Standing } from './peer-admission'
import { FILE_OPEN_PARALLEL, fileDocId, fileNodes, MAX_FILES_PER_PROJECT } from './project-files'
import { fileDigest, fileVersions, sameDigest } from './file-versions'
import { FileRounds } from './file-rounds'
import { releaseMemory } from './memory-release'
import { inParallel } from '../storage/in-parallel'
import type { SecretStore } from './secrets'
import { DEFAULT_KEEP_DELETED } from '../storage/text-retention'

export interface JoinRequest {
  readonly id: string
  readonly docId: string
  readonly device: string
  readonly name: string
}

interface PendingJoin extends JoinRequest {
  /** The requester's current session: the answer goes there. */
  session: PeerSession
  expires: number
}

export interface WorkspaceOptions {
  readonly deviceKey: Uint8Array
  /** Signs with the device key (member changes). */
  readonly sign: Sign
  readonly name: string
  readonly appVersion: string
  readonly store: DocStore
  readonly secrets: SecretStore
  /** Anti-entropy period (default 3 s); 0 disables the timer (tests drive it by hand). */
  readonly antiEntropyMs?: number
  /** A peer that has not said hello this long after connecting is dropped (default 5 s; 0: never). */
  readonly helloTimeoutMs?: number
  readonly log?: (message: string) => void
  readonly now?: () => number
  /** Replicas of a document one device may bind (default MAX_REPLICAS_PER_DEVICE; tests lower it). */
  readonly replicasPerDevice?: number
  /** How long a connected member may leave a seal request unanswered (default SEAL_WAIT_MS). */
  readonly sealWaitMs?: number
  /** Deleted text kept per document, times its length (default DEFAULT_KEEP_DELETED; Infinity: all). */
  readonly keepDeleted?: number
  /** File documents one project opens at most (default MAX_FILES_PER_PROJECT; tests lower it). */
  readonly maxFilesPerProject?: number
  /** A file document idle this long is closed at the next anti-entropy round (default FILE_IDLE_MS). */
  readonly fileIdleMs?: number
}

export interface WorkspaceEvents {
  peers: []
  doc: [session: DocSession]
  /** A file document of a project was opened (project-files.ts). */
  file: [session: DocSession]
  /** A file document of a project was closed, being idle: whoever holds it lets it go. */
  'file-closed': [session: DocSession]
  'join-request': [request: JoinRequest]
  /**
   * A pending join request left the list without an answer from this device: it expired, or its
   * device disconnected. (An answered one goes through approveJoin/denyJoin.)
   */
  'join-request-gone': [id: string]
  'join-result': [docId: string, ok: boolean, reason: string]
  'shared-docs': [device: string, docs: readonly SharedDocInfo[]]
  'doc-denied': [docId: string, device: string, code: DenyCode, reason: string]
}

export class WorkspaceError extends Error {
  constructor(
    readonly code: 'UNKNOWN_DOC' | 'NOT_ALLOWED' | 'NO_PEER' | 'CLOSED' | 'BAD_ARGUMENT',
    message: string,
  ) {
    super(message)
  }
}

const INVITE_TTL_MS = 24 * 60 * 60 * 1000
/**
 * Join requests waiting for an owner's answer (docs/PROTOCOL.md, "Threat model"): one per device and
 * document (a repeat refreshes it), at most MAX_JOIN_REQUESTS_PER_DEVICE per device and
 * MAX_JOIN_REQUESTS in all (a request beyond either is refused with a reason), each for at most
 * JOIN_REQUEST_TTL_MS (then the requester is told no). So a flood of requests holds a few KiB, and the
 * owner's list stays short enough to read.
 */
export const MAX_JOIN_REQUESTS = 64
export const MAX_JOIN_REQUESTS_PER_DEVICE = 4
export const JOIN_REQUEST_TTL_MS = 10 * 60 * 1000
const JOIN_NOT_TAKEN = 'this device does not take join requests for that document'
const JOIN_TOO_MANY = 'too many join requests are waiting for the owner; try again later'
const JOIN_EXPIRED = 'the owner did not answer the join request in time'
/**
 * Connected devices at once; a LAN office is far below, a flood of made-up keys is not. Of those, at
 * most MAX_STRANGERS that dialed in, are members of no document here and have no join under way
 * (peer-admission.ts), so throwaway keys never take a member's place: a member takes a stranger's.
 */
const MAX_PEERS = 256
const MAX_STRANGERS = 32
/**
 * Every this many anti-entropy rounds, peers compare every file of a project (`file-versions`), when
 * something changed since they last did (FileRounds.due).
 */
const FILE_ROUNDS = 10
/**
 * A peer's `file-versions` makes this node ask about a file at most once per this long: whatever a
 * peer sends, it cannot turn its digests into a stream of sync requests.
 */
const FILE_RESYNC_GAP_MS = 1000
/**
 * A file document of a project is closed once it has been idle this long (DocSession.idle, and no
 * `closeGuard` keeps it: a window showing it, a write to the folder waiting), and opened again when
 * it is needed: so memory grows with the files in use, not with the files in the project (issue 15).
 */
export const FILE_IDLE_MS = 30_000
/**
 * A sweep that closes at least this many file documents gives their memory back at once
 * (memory-release.ts): a project's files close together after a share, a join or a checkout, and V8
 * may otherwise hold what they used for a minute or more. A file or two closing costs no collection.
 */
const RELEASE_AFTER_CLOSES = 16

/** A file document closed while idle (`closeIdleFiles`): enough to answer for it and to open it again. */
interface ClosedFile {
  readonly project: string
  /** What this node holds of it (file-versions.ts): its state does not change while it is closed. */
  readonly digest: Uint8Array
  /**
   * Its replicas no window was given (DocSession.reusable), taken up again when it opens: all their
   * ops are on disk once it closed cleanly.
   */
  resume: Uint8Array[]
}

/** A stored nonce (hex), if well formed. */
function nonceOf(hex: string): Uint8Array[] {
  return /^[0-9a-f]+$/.test(hex) && hex.length === NONCE_BYTES * 2 ? [fromHex(hex)] : []
}

export class Workspace extends EventEmitter<WorkspaceEvents> implements SessionHost {
  readonly deviceKey: Uint8Array
  readonly self: string
  /** This device's display name (Settings): sent in hellos, join requests and author records. */
  name: string
  /**
   * Deleted text each document keeps, at most this many times its length (Infinity: all of it); the
   * user's setting, read at each compaction (src/main/storage/text-retention.ts).
   */
  keepDeleted: number
  readonly appVersion: string
  private readonly docs = new Map<string, DocSession>()
  private readonly opening = new Map<string, Promise<DocSession>>()
  private readonly sessions = new Map<string, { session: PeerSession; conn: PeerConnection; since: number }>()
  private admitted = 0
  /** Pending join requests by ID, in arrival order; see MAX_JOIN_REQUESTS. */
  private readonly joinRequests = new Map<string, PendingJoin>()
  /** Documents we asked to join, by doc ID: the device we asked. A join-accept from anyone else is ignored. */
  private readonly awaitingJoin = new Map<string, string>()
  private readonly remoteShared = new Map<string, readonly SharedDocInfo[]>()
  /** Anti-entropy rounds so far, and what they have to do for the files of projects (file-rounds.ts). */
  private rounds = 0
  private readonly fileRounds = new FileRounds()
  /** The documents whose seals the next round retries (DocSession 'seal-round'), by ID. */
  private readonly sealRounds = new Set<string>()
  /** When a peer's `file-versions` last made this node ask it about each file (FILE_RESYNC_GAP_MS). */
  private readonly askedAt = new WeakMap<PeerSession, Map<string, number>>()
  /** The file documents opened for each project (project-files.ts), by project ID: their nodes. */
  private readonly projectFiles = new Map<string, Set<string>>()
  /** The tree node of every file document opened, by document ID. */
  private readonly fileNodes = new Map<string, string>()
  /** When each open file document was last busy: opened, changed, or found not idle by a round. */
  private readonly busyAt = new Map<string, number>()
  /** What keeps file documents open besides their own work (`addCloseGuard`). */
  private readonly closeGuards = new Set<(doc: DocSession) => boolean>()
  /** File documents closed while idle, by ID; and those whose close is under way (an open waits for it). */
  private readonly closedFiles = new Map<string, ClosedFile>()
  private readonly closingFiles = new Map<string, Promise<void>>()
  private timer: ReturnType<typeof setInterval> | undefined
  /** DamagedStateError messages logged already: one line each, however many messages meet it. */
  private readonly damageLogged = new Set<string>()
  private closed = false

  constructor(private readonly options: WorkspaceOptions) {
    super()
    this.deviceKey = options.deviceKey
    this.self = toHex(options.deviceKey)
    this.name = options.name
    this.keepDeleted = options.keepDeleted ?? DEFAULT_KEEP_DELETED
    this.appVersion = options.appVersion
    const period = options.antiEntropyMs ?? 3000
    if (period > 0) {
      this.timer = setInterval(() => this.syncAll(), period)
      this.timer.unref?.()
    }
  }

  // ---- documents -----------------------------------------------------------------------------------

  /** Creates a new document owned by this device. */
  async createDoc(title = ''): Promise<DocSession> {
    // The ID derives from this device's key and a nonce: only this device can sign the document's root.
    const nonce = randomKey().subarray(0, 16)
    const docId = docIdFor(memberCrypto, this.deviceKey, nonce)
    const secrets: DocSecrets = {
      epoch: 0,
      keys: { '0': toHex(randomKey()) },
      bootstrap: [],
      nonce: toHex(nonce),
    }
    await this.options.secrets.putDoc(docId, secrets)
    const doc = await this.openDoc(docId)
    await doc.setMember(this.self, 'owner', this.name)
    if (title) await doc.setProp('title', title)
    return doc
  }

  /** Opens a document this device holds (idempotent). */
  openDoc(docId: string): Promise<DocSession> {
    const open = this.docs.get(docId)
    if (open) return Promise.resolve(this.inUse(open))
    let pending = this.opening.get(docId)
    if (!pending) {
      pending = this.load(docId).finally(() => this.opening.delete(docId))
      this.opening.set(docId, pending)
    }
    return pending
  }

  private async load(docId: string): Promise<DocSession> {
    if (!this.options.secrets.doc(docId))
      throw new WorkspaceError('UNKNOWN_DOC', `This device holds no document ${docId}.`)
    // The replicas of the last clean close, taken up again (DocSecrets.resume); out of the secrets
    // before any is used, so that a crash from now on makes the next start mint new ones.
    const resume = (await this.options.secrets.takeResume(docId)).flatMap(nonceOf)
    const doc = await this.docSession(docId, this.options.secrets.doc(docId)!, resume)
    doc.on('members', () => this.announceShared())
    doc.on('members', () => {
      for (const file of this.filesOf(docId)) file.projectMembersChanged()
    })
    // A file new to this node is opened at once; one closed while idle only moved or was renamed (its
    // folder moves it on disk without it), or it came back from the trash (its folder opens it to write it).
    doc.on('tree', (nodes) =>
      this.openFiles(
        doc,
        nodes.filter((node) => !this.closedFiles.has(fileDocId(docId, node))),
      ),
    )
    doc.on('error', (err) => this.log(`document ${docId.slice(0, 8)}: ${err.message}`))
    this.docs.set(docId, doc)
    this.watchSealRounds(doc)
    doc
      .upgradeLegacyMembers()
      .catch((err: unknown) => this.log(`document ${docId.slice(0, 8)}: ${String(err)}`))
    this.emit('doc', doc)
    for (const { session } of this.sessions.values()) if (session.ready) session.openDoc(docId)
    this.openFiles(doc, fileNodes(doc.durable.tree))
    return doc
  }

  /**
   * A document's session on its durable replica: `secrets` its keys (a file document's are its
   * project's: `project`), `resume` the replicas of its last clean close.
   */
  private async docSession(
    docId: string,
    secrets: DocSecrets,
    resume: Uint8Array[],
    project?: DocSession,
  ): Promise<DocSession> {
    // The document's clock is the node's (hybrid-clock stamps, and the window peers' stamps must be in).
    // This open's replica, bound to this device's key (replica-seal.ts).
    const nonce = resume.shift() ?? new Uint8Array(randomBytes(NONCE_BYTES))
    const claim = makeClaim(docId, fromHex(this.self), nonce, this.options.sign)
    const durable = await DurableDoc.open(this.options.store, docId, {
      ...(this.options.now ? { clock: this.options.now } : {}),
      legacyRoots: secrets.legacyRoots ?? [],
      replica: claim.replica,
    })
    const nameOf = (): string => this.name
    const keepDeleted = (): number => this.keepDeleted
    return new DocSession(durable, secrets, {
      self: this.self,
      // A getter: a new display name shows in the author records written after the change.
      get selfName(): string {
        return nameOf()
      },
      sign: this.options.sign,
      claim,
      resumable: resume,
      keepDeleted,
      ...(this.options.replicasPerDevice ? { replicasPerDevice: this.options.replicasPerDevice } : {}),
      ...(this.options.sealWaitMs !== undefined ? { sealWaitMs: this.options.sealWaitMs } : {}),
      sessions: () => Array.from(this.sessions.values(), (s) => s.session),
      // A file document has no secrets of its own (its keys are the project's): nothing to store.
      saveSecrets: project ? async () => undefined : (id, s) => this.options.secrets.putDoc(id, s),
      log: (m) => this.log(m),
      ...(this.options.now ? { now: this.options.now } : {}),
      ...(project ? { project } : {}),
    })
  }

  // ---- file documents of projects (project-files.ts) -----------------------------------------------

  /**
   * The file document of `node` in `project`'s tree, opened (and made, the first time) if it is not
   * open yet. Refused past MAX_FILES_PER_PROJECT file documents in one project.
   */
  openFile(project: DocSession, node: string): Promise<DocSession> {
    const docId = fileDocId(project.docId, node)
    const open = this.docs.get(docId)
    if (open) return Promise.resolve(this.inUse(open))
    let pending = this.opening.get(docId)
    if (!pending) {
      if (this.closed) return Promise.reject(new WorkspaceError('CLOSED', 'The node is closed.'))
      const files = this.projectFiles.get(project.docId) ?? new Set<string>()
      const max = this.options.maxFilesPerProject ?? MAX_FILES_PER_PROJECT
      if (!files.has(node) && files.size >= max) {
        return Promise.reject(
          new WorkspaceError('NOT_ALLOWED', `A project holds at most ${max} files: ${node} is not opened.`),
        )
      }
      files.add(node)
      this.projectFiles.set(project.docId, files)
      this.fileNodes.set(docId, node)
      pending = this.loadFile(project, docId).finally(() => this.opening.delete(docId))
      this.opening.set(docId, pending)
    }
    return pending
  }

  private async loadFile(project: DocSession, docId: string): Promise<DocSession> {
    await this.closingFiles.get(docId)
    // Closed while idle in this run, or at the last clean close (then out of the secrets already).
    const resume =
      this.closedFiles.get(docId)?.resume ?? (await this.options.secrets.takeResume(docId)).flatMap(nonceOf)
    this.closedFiles.delete(docId)
    const doc = await this.docSession(docId, { epoch: 0, keys: {}, bootstrap: [] }, resume, project)
    doc.on('error', (err) => this.log(`file ${docId.slice(0, 8)}: ${err.message}`))
    this.docs.set(docId, doc)
    this.busyAt.set(docId, this.now())
    doc.durable.onChange(() => this.busyAt.set(docId, this.now()))
    this.watchSealRounds(doc)
    this.fileRounds.watch(doc)
    this.emit('file', doc)
    // Peers already authenticated for the project are for this file: each says what it holds.
    for (const { session } of this.sessions.values()) {
      if (!session.isAuthenticated(project.docId)) continue
      doc.peerAuthenticated(session)
      doc.peerReady(session)
      session.openDoc(docId)
    }
    return doc
  }

  /** Keeps `doc` in the next anti-entropy round's seal retries whenever it has seal work (`sealRounds`). */
  private watchSealRounds(doc: DocSession): void {
    const { docId } = doc
    if (doc.sealRoundPending) this.sealRounds.add(docId)
    doc.on('seal-round', () => {
      if (this.docs.get(docId) === doc) this.sealRounds.add(docId)
    })
  }

  /**
   * Lets `guard` keep file documents open: an idle one is closed only if every guard lets it go
   * (`guard` returns true). Returns what removes the guard.
   */
  addCloseGuard(guard: (doc: DocSession) => boolean): () => void {
    this.closeGuards.add(guard)
    return () => this.closeGuards.delete(guard)
  }

  /**
   * `doc`, asked for by a caller that will use it: a file document's idle time starts again, so that
   * it is not closed in the moment between the caller getting it and holding it (a window's guard).
   */
  private inUse(doc: DocSession): DocSession {
    if (this.busyAt.has(doc.docId)) this.busyAt.set(doc.docId, this.now())
    return doc
  }

  /** The tree node a file document was opened for, if it was. */
  fileNode(docId: string): string | undefined {
    return this.fileNodes.get(docId)
  }

  /**
   * Closes the file documents idle for `fileIdleMs` (FILE_IDLE_MS): each is opened again when a peer
   * sends something about it (`wake`), its digest differs from a peer's, or this device uses it.
   */
  private closeIdleFiles(): void {
    const idleMs = this.options.fileIdleMs ?? FILE_IDLE_MS
    const now = this.now()
    let closed = 0
    for (const doc of [...this.docs.values()]) {
      if (doc.project === undefined) continue
      if (!this.mayClose(doc)) this.busyAt.set(doc.docId, now)
      else if (now - (this.busyAt.get(doc.docId) ?? now) >= idleMs) {
        this.closeFile(doc)
        closed++
      }
    }
    if (closed >= RELEASE_AFTER_CLOSES) {
      void Promise.all(this.closingFiles.values())
        .then(releaseMemory)
        .catch((err: unknown) => this.log(`giving back the memory of closed files: ${String(err)}`))
    }
  }

  private mayClose(doc: DocSession): boolean {
    if (!doc.idle || this.fileNodes.get(doc.docId) === undefined) return false
    for (const guard of this.closeGuards) if (!guard(doc)) return false
    return true
  }

  private closeFile(doc: DocSession): void {
    const { docId } = doc
    const closed: ClosedFile = {
      project: doc.project!,
      digest: fileDigest(doc),
      resume: [],
    }
    this.closedFiles.set(docId, closed)
    this.docs.delete(docId)
    this.busyAt.delete(docId)
    this.sealRounds.delete(docId)
    doc.stop()
    this.emit('file-closed', doc)
    const closing = doc.durable.close().then(
      // Only a clean close leaves every op of its replicas on disk: then they may go on.
      () => void (closed.resume = doc.reusable()),
      (err: unknown) => this.log(`file ${docId.slice(0, 8)}: closing it: ${String(err)}`),
    )
    this.closingFiles.set(docId, closing)
    void closing.finally(() => this.closingFiles.delete(docId))
  }

  /**
   * A peer's message about a document not open: a file document of a project it is authenticated
   * for, closed while idle, is opened for it (SessionHost.wake).
   */
  wake(session: PeerSession, docId: string): Promise<unknown> | undefined {
    const closed = this.closedFiles.get(docId)
    const project = closed && this.docs.get(closed.project)
    if (!closed || !project || !session.isAuthenticated(closed.project)) return undefined
    return this.openFile(project, this.fileNodes.get(docId)!).catch((err: unknown) =>
      this.log(`project ${closed.project.slice(0, 8)}: ${err instanceof Error ? err.message : String(err)}`),
    )
  }

  /**
   * Calls `watch` for every file document of `projectId` open now or opened later, and what it returns
   * once that document closes (or once the function returned here stops the whole watch).
   */
  followFiles(projectId: string, watch: (doc: DocSession) => () => void): () => void {
    const stops = new Map<DocSession, () => void>()
    const follow = (doc: DocSession): void => {
      if (doc.project === projectId && !stops.has(doc)) stops.set(doc, watch(doc))
    }
    const unfollow = (doc: DocSession): void => {
      stops.get(doc)?.()
      stops.delete(doc)
    }
    this.on('file', follow)
    this.on('file-closed', unfollow)
    for (const doc of this.filesOf(projectId)) follow(doc)
    return () => {
      this.off('file', follow)
      this.off('file-closed', unfollow)
      for (const stop of stops.values()) stop()
      stops.clear()
    }
  }

  /** The file documents of a project open now. */
  filesOf(projectId: string): DocSession[] {
    const out: DocSession[] = []
    for (const node of this.projectFiles.get(projectId) ?? []) {
      const doc = this.docs.get(fileDocId(projectId, node))
      if (doc) out.push(doc)
    }
    return out
  }

  /** Opens the file documents of the file nodes among `nodes`, FILE_OPEN_PARALLEL at once, in the background. */
  private openFiles(project: DocSession, nodes: readonly string[]): void {
    const files = nodes.filter((n) => project.durable.tree.place(n)?.kind === 'file')
    if (files.length === 0) return
    void inParallel(files, FILE_OPEN_PARALLEL, async (node) => {
      if (this.closed) return
      await this.openFile(project, node).catch((err: unknown) =>
        this.log(`project ${project.docId.slice(0, 8)}: ${err instanceof Error ? err.message : String(err)}`),
      )
    })
  }

  doc(docId: string): DocSession | undefined {
    return this.docs.get(docId)
  }

  /** Every document this device holds, open or not (PeerNode reopens them in the background). */
  heldDocIds(): string[] {
    return this.options.secrets.docIds()
  }

  /** The documents open here, projects included, the files of projects not (see `filesOf`). */
  openDocs(): DocSession[] {
    return [...this.docs.values()].filter((d) => d.project === undefined)
  }

  /** Documents whose member list names `device` (so we offer our proof to it proactively). */
  docsFor(device: string): DocSession[] {
    // Not the files of projects: they are proven through their project.
    return this.openDocs().filter((d) => d.roleOf(device) !== undefined)
  }

  async shareOnLan(docId: string, on: boolean): Promise<void> {
    await this.options.secrets.setSharedOnLan(docId, on)
    this.announceShared()
  }

  isSharedOnLan(docId: string): boolean {
    return this.options.secrets.isSharedOnLan(docId)
  }

  sharedDocs(): SharedDocInfo[] {
    return this.openDocs()
      .filter((d) => this.options.secrets.isSharedOnLan(d.docId))
      .map((d) => {
        const members = d.members().filter((m) => m.record.role !== 'removed')
        const owner = members.find((m) => m.record.role === 'owner')
        return {
          docId: d.docId,
          title: d.title,
          ownerName: owner?.record.name ?? '',
          memberCount: members.length,
        }
      })
  }

  /** What each connected device shares on the LAN (the Nearby list). */
  nearby(): { device: string; name: string; docs: readonly SharedDocInfo[] }[] {
    return [...this.sessions.values()].map(({ session }) => ({
      device: session.remoteKey,
      name: session.remoteName,
      docs: this.remoteShared.get(session.remoteKey) ?? [],
    }))
  }

  private announceShared(): void {
    const docs = this.sharedDocs()
    for (const { session } of this.sessions.values()) session.sendSharedDocs(docs)
  }

  // ---- peers ---------------------------------------------------------------------------------------

  /** Runs the protocol over a new authenticated connection. */
  attach(conn: PeerConnection): PeerSession {
    if (this.closed) {
      conn.close('node is shutting down')
      throw new WorkspaceError('CLOSED', 'The node is closed.')
    }
    const session = new PeerSession(
      {
        remoteKey: conn.remoteKey,
        handshakeHash: conn.handshakeHash,
        send: (f) => conn.send(f),
        close: (r) => conn.close(r),
        failed: (err) => this.messageFailed(session, conn, err),
      },
      this,
      nodeCrypto,
    )
    const previous = this.sessions.get(session.remoteKey)
    if (previous) previous.conn.close('replaced by a newer connection')
    else if (!this.admit(session.remoteKey, conn)) return session
    this.sessions.set(session.remoteKey, { session, conn, since: this.admitted++ })
    conn.onMessage((frame) => {
      try {
        session.receive(frame)
      } catch (err) {
        this.messageFailed(session, conn, err)
      }
    })
    const helloTimeoutMs = this.options.helloTimeoutMs ?? 5000
    const helloTimer =
      helloTimeoutMs > 0
        ? setTimeout(
            // setImmediate: a hello that arrived while the event loop was busy is read first.
            () =>
              setImmediate(() => {
                if (!session.ready) conn.close(`no hello within ${helloTimeoutMs} ms`)
              }),
            helloTimeoutMs,
          )
        : undefined
    helloTimer?.unref?.()
    conn.onClose(() => {
      clearTimeout(helloTimer)
      session.close()
      for (const doc of this.docs.values()) doc.forgetPeer(session)
      if (this.sessions.get(session.remoteKey)?.session === session) {
        this.sessions.delete(session.remoteKey)
        this.remoteShared.delete(session.remoteKey)
        for (const [id, r] of this.joinRequests) {
          if (r.session !== session) continue
          this.joinRequests.delete(id)
          this.emit('join-request-gone', id)
        }
        this.emit('peers')
      }
    })
    session.start()
    return session
  }

  /**
   * Whether a new connection from `device` is let in (peer-admission.ts); closes those that make room
   * for it, or the newcomer if none may. Any key pair completes a handshake: this bounds what
   * strangers can make this node hold, and keeps them from crowding out members.
   */
  private admit(device: string, conn: PeerConnection): boolean {
    const standingOf = this.standings()
    const peers = [...this.sessions.values()]
      .filter((s) => !s.conn.closed)
      .map((s) => ({
        device: s.session.remoteKey,
        address: s.conn.remoteAddress,
        standing: standingOf(s.session.remoteKey, s.conn.initiator),
        since: s.since,
      }))
    const verdict = admit(standingOf(device, conn.initiator), conn.remoteAddress, peers, {
      maxPeers: MAX_PEERS,
      maxStrangers: MAX_STRANGERS,
    })
    if (!verdict.admit) {
      this.log(`turned away ${device.slice(0, 8)} (${conn.remoteAddress}): ${verdict.reason}`)
      conn.close(verdict.reason)
      return false
    }
    for (const p of verdict.evict) {
      const reason = p.standing === 'stranger' ? 'too many strangers' : `too many peers (${MAX_PEERS})`
      this.sessions.get(p.device)?.conn.close(reason)
    }
    return true
  }

  /**
   * Each device's standing now: a member of a document open here, a join under way, or else a device
   * this node dialed or a stranger that dialed in.
   */
  private standings(): (device: string, dialed: boolean) => Standing {
    const docs = this.openDocs() // a file's roles are its project's
    const joining = new Set(this.awaitingJoin.values())
    for (const r of this.joinRequests.values()) joining.add(r.device)
    return (device, dialed) =>
      docs.some((d) => d.roleOf(device) !== undefined)
        ? 'member'
        : joining.has(device)
          ? 'joining'
          : dialed
            ? 'dialed'
            : 'stranger'
  }

  peers(): { device: string; name: string; address: string; docs: string[] }[] {
    return [...this.sessions.values()].map(({ session, conn }) => ({
      device: session.remoteKey,
      name: session.remoteName,
      address: conn.remoteAddress,
      docs: this.openDocs()
        .filter((d) => session.isAuthenticated(d.docId))
        .map((d) => d.docId),
    }))
  }

  /** Closes the connection to a device (it may come back through discovery or the dialer). */
  disconnect(device: string): void {
    this.sessions.get(device)?.conn.close('disconnected by this device')
  }

  /** A peer's message could not be handled: `err` says whose fault it is. */
  private messageFailed(session: PeerSession, conn: PeerConnection, err: unknown): void {
    if (err instanceof DamagedStateError) {
      // This device's copy of a document is at fault (text-doc.ts), not the peer: its connection stays.
      if (!this.damageLogged.has(err.message)) this.log(err.message)
      this.damageLogged.add(err.message)
      return
    }
    // One bad peer never takes down the node: drop this connection, keep everything else.
    const reason = err instanceof ProtocolError ? err.message : `internal error: ${String(err)}`
    this.log(`closing connection to ${session.remoteKey.slice(0, 8)}: ${reason}`)
    conn.close(reason)
  }

  session(device: string): PeerSession | undefined {
    return this.sessions.get(device)?.session
  }

  /** Anti-entropy round with every peer: each side sends what the other lacks. */
  syncAll(): void {
    this.expireJoinRequests()
    const compareAll = this.rounds++ % FILE_ROUNDS === 0
    const changed = this.fileRounds.changed()
    for (const { session } of this.sessions.values()) {
      session.antiEntropy()
      // The files of projects take no proof of their own, so the session's round does not name them.
      for (const doc of changed) session.resync(doc.docId)
      if (compareAll) this.sendFileVersions(session, (projectId) => this.fileRounds.due(session, projectId))
    }
    // Only the documents with seal work (DocSession.retrySeals): an idle project of 2,000 files has none.
    for (const docId of [...this.sealRounds]) {
      if (this.docs.get(docId)?.retrySeals() !== true) this.sealRounds.delete(docId)
    }
    this.closeIdleFiles()
  }

  /**
   * Tells `session` what this node holds of every open file of the projects `which` names that it is
   * authenticated for. The files of projects that changed here are asked about every round (and so
   * peers get what they lack of them); what this device lacks (a lost update, which TCP makes rare)
   * is found every FILE_ROUNDS-th round by comparing digests, when there is something to compare: so
   * an idle project of 2,000 files costs its peers no work per file.
   */
  private sendFileVersions(session: PeerSession, which: (projectId: string) => boolean): void {
    for (const projectId of this.projectFiles.keys()) {
      if (!which(projectId) || !session.isAuthenticated(projectId)) continue
      const versions = fileVersions(this.filesOf(projectId))
      for (const [file, closed] of this.closedFiles) {
        if (closed.project === projectId) versions.push({ file, digest: closed.digest })
      }
      if (versions.length === 0) continue
      session.sendFileVersions(projectId, versions)
      this.fileRounds.sent(session, projectId)
    }
  }

  // ---- joining -------------------------------------------------------------------------------------

  /** Issues a single-use invite for `docId`, valid for `ttlMs`, reachable at `addresses`. */
  async createInvite(
    docId: string,
    role: Role,
    addresses: { host: string; port: number }[],
    ttlMs = INVITE_TTL_MS,
    kind: InviteKind = 'doc',
  ): Promise<string> {
    const doc = this.requireDoc(docId)
    if (doc.myRole !== 'owner') throw new WorkspaceError('NOT_ALLOWED', 'Only an owner can invite people.')
    const inviteId = randomId(16)
    const secret = randomKey()
    const expires = this.now() + ttlMs
    await this.options.secrets.putInvite(inviteId, {
      docId,
      role,
      secret: toHex(secret),
      expires,
      used: false,
    })
    const code: InviteCode = { docId, inviterKey: this.self, addresses, inviteId, secret, expires, kind }
    return encodeInvite(code)
  }

  /**
   * The invites this device issued for `docId` that can still be redeemed, soonest to expire first:
   * none unless it is an owner now (redeeming checks that too).
   */
  openInvites(docId: string): { id: string; role: Role; expires: number }[] {
    if (this.docs.get(docId)?.myRole !== 'owner') return []
    const now = this.now()
    return this.options.secrets
      .invites()
      .filter(([, i]) => i.docId === docId && !i.used && !i.revoked && i.expires > now)
      .map(([id, i]) => ({ id, role: i.role, expires: i.expires }))
      .sort((a, b) => a.expires - b.expires)
  }

  /** Revokes an open invite to `docId` this device issued: redeeming it fails from now on. */
  async revokeInvite(docId: string, inviteId: string): Promise<void> {
    if (this.requireDoc(docId).myRole !== 'owner') {
      throw new WorkspaceError('NOT_ALLOWED', 'Only an owner can revoke invites.')
    }
    const invite = this.options.secrets.invite(inviteId)
    if (!invite || !this.openInvites(docId).some((i) => i.id === inviteId)) {
      throw new WorkspaceError(
        'BAD_ARGUMENT',
        'No such open invite to this document (it may have been used or expired).',
      )
    }
    invite.revoked = true
    await this.options.secrets.putInvite(inviteId, invite)
  }

  /** Redeems an invite over an existing session with the inviter. The result comes as 'join-result'. */
  redeemWith(session: PeerSession, invite: InviteCode): void {
    if (session.remoteKey !== invite.inviterKey) {
      throw new WorkspaceError('NO_PEER', 'That connection is not to the device that made the invite.')
    }
    this.awaitingJoin.set(invite.docId, session.remoteKey)
    session.redeemInvite(invite.docId, fromHex(invite.inviteId), invite.secret)
  }

  /** Asks an owner's device to let this one join `docId` (listed in its shared documents). */
  requestJoin(device: string, docId: string): void {
    const session = this.sessions.get(device)?.session
    if (!session) throw new WorkspaceError('NO_PEER', 'That device is not connected.')
    this.awaitingJoin.set(docId, device)
    session.requestJoin(docId, this.name)
  }

  pendingJoinRequests(): JoinRequest[] {
    this.expireJoinRequests()
    return [...this.joinRequests.values()].map(({ id, docId, device, name }) => ({ id, docId, device, name }))
  }

  async approveJoin(requestId: string, role: Role = 'editor'): Promise<void> {
    this.expireJoinRequests()
    const request = this.joinRequests.get(requestId)
    if (!request)
      throw new WorkspaceError('BAD_ARGUMENT', 'No such join request (it may have been withdrawn).')
    const doc = this.requireDoc(request.docId)
    await doc.setMember(request.device, role, request.name)
    this.joinRequests.delete(requestId)
    request.session.acceptJoin(doc.docId, role, doc.epoch, doc.keyFor(doc.epoch)!)
  }

  denyJoin(requestId: string): void {
    const request = this.joinRequests.get(requestId)
    if (!request) throw new WorkspaceError('BAD_ARGUMENT', 'No such join request.')
    this.joinRequests.delete(requestId)
    request.session.denyJoin(request.docId, 'the owner declined the request')
  }

  // ---- SessionHost ---------------------------------------------------------------------------------

  onHello(session: PeerSession): void {
    session.sendSharedDocs(this.sharedDocs())
    this.emit('peers')
  }

  onSharedDocs(session: PeerSession, docs: readonly SharedDocInfo[]): void {
    // The decoder caps the list at MAX_SHARED_DOCS entries of bounded size; only the latest is kept.
    this.remoteShared.set(session.remoteKey, docs)
    this.emit('shared-docs', session.remoteKey, docs)
  }

  onJoinRequest(session: PeerSession, docId: string, name: string): void {
    const doc = this.docs.get(docId)
    // Only documents shared on the LAN take requests; for others the requester learns nothing.
    if (!doc || !this.options.secrets.isSharedOnLan(docId) || doc.myRole !== 'owner') {
      session.denyJoin(docId, JOIN_NOT_TAKEN)
      return
    }
    if (doc.roleOf(session.remoteKey) !== undefined) {
      session.openDoc(docId)
      return
    }
    this.expireJoinRequests()
    const device = session.remoteKey
    const expires = this.now() + JOIN_REQUEST_TTL_MS
    let fromDevice = 0
    for (const r of this.joinRequests.values()) {
      if (r.device !== device) continue
      if (r.docId === docId) {
        // A repeat refreshes the request, unanswered and unannounced. Its name stays the one the owner
        // was shown: what an owner approves is what it saw.
        r.expires = expires
        r.session = session
        return
      }
      fromDevice++
    }
    if (fromDevice >= MAX_JOIN_REQUESTS_PER_DEVICE || this.joinRequests.size >= MAX_JOIN_REQUESTS) {
      session.denyJoin(docId, JOIN_TOO_MANY)
      return
    }
    const id = randomId(6)
    this.joinRequests.set(id, { id, docId, device, name, session, expires })
    this.emit('join-request', { id, docId, device, name })
  }

  /** Drops the requests past their time, telling each requester. */
  private expireJoinRequests(): void {
    const now = this.now()
    for (const [id, r] of this.joinRequests) {
      if (r.expires > now) continue
      this.joinRequests.delete(id)
      r.session.denyJoin(r.docId, JOIN_EXPIRED)
      this.emit('join-request-gone', id)
    }
  }

  redeemInvite(
    session: PeerSession,
    docId: string,
    inviteId: Uint8Array,
    proof: Uint8Array,
  ): { role: Role; epoch: number; key: Uint8Array } | DenyCode {
    const id = toHex(inviteId)
    const invite = this.options.secrets.invite(id)
    const doc = this.docs.get(docId)
    if (!invite || invite.docId !== docId || !doc) return 'invite-invalid'
    if (invite.used || invite.revoked || invite.expires <= this.now()) return 'invite-invalid'
    // Void for a device that was removed (it must be let in again by an owner, on purpose), and from a
    // device that is no longer an owner (its grant would not count).
    if (doc.isRemoved(session.remoteKey) || doc.myRole !== 'owner') return 'invite-invalid'
    const expected = inviteProof(
      nodeCrypto,
      fromHex(invite.secret),
      this.handshakeHashOf(session),
      inviteId,
      fromHex(session.remoteKey),
    )
    if (!nodeCrypto.equal(expected, proof)) return 'invite-invalid'
    invite.used = true // single use: consumed before anything else can interleave
    void this.options.secrets.putInvite(id, invite)
    void doc
      .setMember(session.remoteKey, invite.role, session.remoteName)
      .catch((err: unknown) => this.log(String(err)))
    return { role: invite.role, epoch: doc.epoch, key: doc.keyFor(doc.epoch)! }
  }

  onJoinAccepted(session: PeerSession, docId: string, role: Role, epoch: number, key: Uint8Array): void {
    if (this.awaitingJoin.get(docId) !== session.remoteKey || !isDocId(docId)) {
      this.log(`ignored an unsolicited join-accept from ${session.remoteKey.slice(0, 8)}`)
      return
    }
    this.awaitingJoin.delete(docId)
    void (async () => {
      const existing = this.options.secrets.doc(docId)
      const secrets: DocSecrets = existing ?? { epoch, keys: {}, bootstrap: [] }
      secrets.keys[String(epoch)] = toHex(key)
      secrets.epoch = Math.max(secrets.epoch, epoch)
      if (!secrets.bootstrap.includes(session.remoteKey)) secrets.bootstrap.push(session.remoteKey)
      // If the document predates signed members, the device that let us in is the root we trust.
      secrets.legacyRoots = [...new Set([...(secrets.legacyRoots ?? []), session.remoteKey])]
      secrets.joinedAs = role
      await this.options.secrets.putDoc(docId, secrets)
      const doc = await this.openDoc(docId)
      session.openDoc(docId)
      this.emit('join-result', doc.docId, true, `joined as ${role}`)
    })().catch((err: unknown) =>
      this.emit('join-result', docId, false, err instanceof Error ? err.message : String(err)),
    )
  }

  onKeyShare(session: PeerSession, docId: string, epoch: number, key: Uint8Array): void {
    // A refused key-share is logged, and the connection kept: an older peer may still relay keys.
    const refused = this.docs.get(docId)?.acceptKey(session.remoteKey, epoch, key)
    if (refused)
      this.log(
        `refused a key-share for ${docId.slice(0, 8)} from ${session.remoteKey.slice(0, 8)}: ${refused}`,
      )
  }

  onDocDenied(session: PeerSession, docId: string, code: DenyCode, reason: string): void {
    if (this.awaitingJoin.get(docId) === session.remoteKey) {
      this.awaitingJoin.delete(docId)
      this.emit('join-result', docId, false, reason)
    }
    this.emit('doc-denied', docId, session.remoteKey, code, reason)
  }

  onDocReady(session: PeerSession, docId: string): void {
    this.docs.get(docId)?.peerAuthenticated(session)
    this.docs.get(docId)?.peerReady(session)
    // A peer authenticated for a project is for its files; what each side lacks of them is found in
    // one exchange of digests (each side asks about the files whose digests differ).
    for (const file of this.filesOf(docId)) {
      file.peerAuthenticated(session)
      file.peerReady(session)
    }
    if (this.projectFiles.has(docId)) this.sendFileVersions(session, (projectId) => projectId === docId)
    this.emit('peers')
  }

  onFileVersions(session: PeerSession, projectId: string, files: readonly FileVersion[]): void {
    const project = this.docs.get(projectId)
    if (!project || project.project !== undefined) return
    const now = this.now()
    const asked = this.askedAt.get(session) ?? new Map<string, number>()
    this.askedAt.set(session, asked)
    let byId: Map<string, string> | undefined
    let foreign = 0
    let differs = false
    /** Files not open here that the peer holds otherwise: opened, FILE_OPEN_PARALLEL at once (`openFiles`). */
    const toOpen: string[] = []
    for (const { file, digest } of files) {
      // Open, or closed while idle (its digest kept): compared with this node's digest.
      const doc = this.docs.get(file)
      const closed = doc ? undefined : this.closedFiles.get(file)
      const held = doc ? { project: doc.project, digest: fileDigest(doc) } : closed
      if (held !== undefined) {
        if (held.project !== projectId) foreign++
        else if (!sameDigest(held.digest, digest)) {
          differs = true
          if (now - (asked.get(file) ?? -Infinity) < FILE_RESYNC_GAP_MS) continue
          asked.set(file, now) // one entry per file of the project, at most
          // A closed one is opened, and then asks every peer for what it lacks (loadFile).
          if (doc) session.resync(file)
          else toOpen.push(this.fileNodes.get(file)!)
        }
        continue
      }
      // A file of the tree not open here (opened on demand): opening it asks every peer about it.
      byId ??= new Map(fileNodes(project.durable.tree).map((node) => [fileDocId(projectId, node), node]))
      const node = byId.get(file)
      if (node === undefined) {
        // Not in this node's tree: not yet (a joiner gets the digests ahead of the tree, whose sync
        // brings the files and opens them), or not at all: told only once the tree is complete here.
        if (project.treeCaughtUp()) foreign++
      } else {
        differs = true
        toOpen.push(node)
      }
    }
    this.openFiles(project, toOpen)
    this.fileRounds.compared(session, projectId, differs)
    if (foreign > 0)
      this.log(
        `file-versions from ${session.remoteKey.slice(0, 8)}: ${foreign} of ${files.length} files are not files of project ${projectId.slice(0, 8)} here`,
      )
  }

  log(message: string): void {
    this.options.log?.(message)
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    // Before the connections go: peers that hold this device's last edits for its seal get it now.
    for (const d of this.docs.values()) d.sealPending()
    for (const { conn } of this.sessions.values()) conn.close('node is shutting down')
    this.sessions.clear()
    await Promise.all(this.closingFiles.values())
    const closed = await Promise.all(
      [...this.docs.values()].map(async (d) => {
        await d.durable.close()
        return [d.docId, d.resumable().map(toHex)] as const
      }),
    )
    // Files closed while idle: the replicas kept for their next open, for the next start's instead.
    for (const [docId, file] of this.closedFiles) closed.push([docId, file.resume.map(toHex)])
    // Closed cleanly: every op of their replicas is on disk, so the next start takes them up again.
    await this.options.secrets.putResumes(closed)
    await this.options.secrets.close()
  }

  private requireDoc(docId: string): DocSession {
    const doc = this.docs.get(docId)
    if (!doc) throw new WorkspaceError('UNKNOWN_DOC', `Document ${docId} is not open on this device.`)
    return doc
  }

  private now(): number {
    return (this.options.now ?? Date.now)()
  }

  /** The handshake hash of a session's connection (needed to check channel-bound invite proofs). */
  handshakeHashOf(session: PeerSession): Uint8Array {
    const entry = this.sessions.get(session.remoteKey)
    if (!entry || entry.session !== session) throw new WorkspaceError('NO_PEER', 'session is gone')
    return entry.conn.handshakeHash
  }
}
