/**
 * The app API: the one contract between the UI (renderer) and the node. Two hosts implement it over
 * the same node code: Electron IPC (the preload exposes one method per request; main checks every
 * sender) and browser mode (`meshpad serve`: http + WebSocket on 127.0.0.1 with a random token).
 *
 * The renderer keeps its own TextDoc replica of each open document: it sends the op batches its
 * replica makes (`pushOps`) and applies the batches the node sends (`ops` events). No positions cross
 * this boundary, so no race can corrupt the text. Expected failures come back as `ApiError` values,
 * not thrown errors, because only `message` survives Electron's IPC serialisation of an Error.
 */

import type { OpenTarget } from './open-target'

export interface AppInfo {
  readonly name: string
  readonly version: string
  /** Which host serves the API: the Electron shell or the browser-mode server. */
  readonly host: 'electron' | 'browser'
  readonly platform: string
  /** This device's ID as people compare it (e.g. `7KQ3-M2XD-9TWA-R4HN`). */
  readonly deviceId: string
  readonly displayName: string
}

export interface ApiError {
  readonly ok: false
  /**
   * Stable, for code: NOT_FOUND, NOT_ALLOWED, STORAGE, BAD_REQUEST, BAD_INVITE, FILE_EXISTS (Save As
   * onto another file: ask, then send `overwrite`), FORBIDDEN_SENDER, INTERNAL…
   */
  readonly code: string
  /** For people: what happened and what to do. */
  readonly message: string
}

export type ApiResult<T> = { readonly ok: true; readonly value: T } | ApiError

export type DocRole = 'owner' | 'editor' | 'viewer'

/** A document as lists show it. */
export interface DocSummary {
  readonly docId: string
  readonly title: string
  /** The linked local file, if any. */
  readonly path: string | null
  readonly role: DocRole | null
}

/** What the renderer needs to start its replica of a document. */
export interface OpenedDoc extends DocSummary {
  /**
   * Every text op of the document as one batch (`changesSince({})`): load it into a fresh TextDoc. Empty
   * when `snapshot` is given instead.
   */
  readonly state: Uint8Array
  /**
   * The document as a snapshot keeps it, when its history is long against its text (window-state.ts,
   * `openWindowState`): it loads in proportion to the text, and its history is read only if needed.
   */
  readonly snapshot?: Uint8Array
  /** The file's language for syntax highlighting, from its name (e.g. "notes.md" → markdown). */
  readonly fileName: string | null
  /**
   * The replica ID for this window's editor, fresh per opening: bound to this device's key by the
   * node, which takes edits only from its own replicas.
   */
  readonly replica: string
  /** Its status as the state was taken: `status` events carry on from it. */
  readonly status: DocStatus
  /**
   * A project's file that others changed while this device was away (ProjectInfo.away): its text's
   * version before that, so that the editor highlights what came since, as it does on a catch-up.
   */
  readonly awaySince?: Readonly<Record<string, number>>
}

/** The status bar of one document. */
export interface DocStatus {
  readonly docId: string
  readonly path: string | null
  /** Whether the file on disk holds the current text. */
  readonly saved: boolean
  /** Connected peers syncing this document. */
  readonly peers: number
  /** False while the user works offline (Settings); true otherwise, with peers or without. */
  readonly online: boolean
  /** Catching up with a peer (sync replies in flight); `progress` in 0..1 when known. */
  readonly syncing: boolean
  readonly progress: number | null
}

/** A character's CRDT ID (as src/shared/crdt's CharId): what cursors are anchored to. */
export interface CharRef {
  readonly replica: string
  readonly counter: number
}

/** A device as people see it: its key (for requests), its fingerprint (to compare aloud) and name. */
export interface DeviceInfo {
  /** The device's public key, hex: what requests name a device by. */
  readonly device: string
  /** The fingerprint people compare, e.g. `7KQ3-M2XD-9TWA-R4HN`. */
  readonly deviceId: string
  readonly name: string
}

/** A document a nearby device shares on the LAN. */
export interface NearbyDoc {
  readonly docId: string
  readonly title: string
  readonly ownerName: string
  readonly memberCount: number
  /** Whether this device is already a member (then it opens rather than joins). */
  readonly joined: boolean
}

export interface NearbyDevice extends DeviceInfo {
  readonly docs: readonly NearbyDoc[]
}

/** Someone asks to join a document this device owns. */
export interface JoinRequestInfo extends DeviceInfo {
  readonly id: string
  readonly docId: string
  readonly docTitle: string
}

export interface MemberInfo extends DeviceInfo {
  readonly role: DocRole
  /** Connected to this device now. */
  readonly online: boolean
  /** This device. */
  readonly me: boolean
  /** The document's creator: always an owner, whom no one can demote or remove. */
  readonly creator: boolean
  /**
   * Caught signing two different member changes with one number: its member changes no longer count
   * (for anyone), so what it granted or took away is void.
   */
  readonly flagged: boolean
  /**
   * Connected, but has not sealed its edits when asked (docs/PROTOCOL.md, "Edits bound to their
   * author"): its edits reach only the devices it sends them to. Cleared once it seals.
   */
  readonly withholding: boolean
}

/** An invite this device issued that can still be redeemed (its code is never shown again). */
export interface OpenInvite {
  readonly id: string
  readonly role: DocRole
  /** When it stops working (ms since the epoch). */
  readonly expires: number
}

/** How a document is shared: on the LAN or not, and with whom. */
export interface SharingInfo {
  readonly docId: string
  readonly sharedOnLan: boolean
  readonly myRole: DocRole | null
  readonly members: readonly MemberInfo[]
  /** This device's open invites to the document, soonest to expire first; empty unless an owner. */
  readonly invites: readonly OpenInvite[]
}

export interface InviteInfo {
  /** The code to paste into Join. */
  readonly code: string
  /** The same as a link (`meshpad://join/<code>`). */
  readonly link: string
  readonly role: DocRole
  /** When it stops working (ms since the epoch); it also works once only. */
  readonly expires: number
}

/** A cursor or selection, anchored to characters (see TextDoc.cursorAnchor): null is the start. */
export interface CursorAnchors {
  readonly anchor: CharRef | null
  readonly head: CharRef | null
}

/** Someone else in a document: who, their colour, and where their cursor is. */
export interface PresenceInfo extends DeviceInfo {
  readonly color: string
  readonly cursor: CursorAnchors | null
}

/** Who wrote with a replica (each window and device edits under its own replica ID). */
export interface AuthorInfo {
  readonly device: string
  readonly name: string
  readonly color: string
  /**
   * Counters of the replica whose ops stand in on another member's word, not the device's (it never
   * sealed them: docs/PROTOCOL.md, "Attested versions"), and that member's name.
   */
  readonly attested?: readonly { readonly from: number; readonly to: number; readonly by: string }[]
}

export interface PropEntry {
  readonly key: string
  readonly value: string
}

/** A restore of a past version, as its window reports it (`noteRestore`). */
export interface RestoreReport {
  /** The version restored, in the History panel's numbering (one per group of edits). */
  readonly version: number
  readonly of: number
  /** When that version was made (its last edit; seconds since the epoch, 0 unknown). */
  readonly versionAt: number
  /** How many characters of each device's text the restore removed or replaced, by device key. */
  readonly removed: Readonly<Record<string, number>>
}

/** Someone's restore removed text this device wrote (the `restored` event). */
export interface RestoreNotice {
  /** Who restored: their device key and name. */
  readonly device: string
  readonly name: string
  readonly version: number
  readonly of: number
  readonly versionAt: number
  /** Characters of this device's text it removed or replaced. */
  readonly removed: number
  /** When it was restored (ms since the epoch); with `device`, what tells two restores apart. */
  readonly at: number
}

export interface Settings {
  readonly displayName: string
  /** `#rrggbb`: your cursor and your text, as others see them. */
  readonly color: string
  readonly deviceId: string
  /** False while "Work offline" is on: no connections in or out. */
  readonly online: boolean
  /**
   * The text of deleted characters each document keeps: up to this many times its length (at least
   * 64 K characters), the oldest dropped past it (their IDs stay, so peers still converge); or all.
   */
  readonly keepDeleted: number | 'all'
}

export interface SaveAsOptions {
  /** Replace the file at the path if it exists (the user said so); else Save As refuses with FILE_EXISTS. */
  readonly overwrite?: boolean
}

/**
 * Whether the node holds the text in the order a window's replica holds it (`checkOrder`): 'unknown'
 * when their text versions differ, so that there is nothing to compare yet.
 */
export type TextOrderAnswer = 'same' | 'differs' | 'unknown'

/** A shared folder on this device (issue 15): a project, and the folder kept in step with it. */
export interface ProjectSummary {
  readonly projectId: string
  readonly title: string
  /** The folder on this device (absolute path). */
  readonly dir: string
  readonly role: DocRole | null
}

/** A file or folder of a project's tree, by its display path ("src/main.ts"). */
export interface ProjectEntry {
  /** The tree node: what requests name it by (it stays the same through renames and moves). */
  readonly node: string
  readonly path: string
  readonly kind: 'file' | 'folder'
  /** The file's document (null for a folder). */
  readonly docId: string | null
}

/** A file or folder deleted from a project (in its trash), which `restoreEntry` puts back. */
export interface DeletedEntry {
  readonly node: string
  readonly name: string
  readonly kind: 'file' | 'folder'
  /** The path of the folder it was in ("" for the top), or null if that folder is deleted too or unknown. */
  readonly from: string | null
  /** When it was deleted (ms since 1970, by the clock of whoever deleted it). */
  readonly deletedAt: number
}

/** A project as its window opens it: the summary and the tree as of now (`tree` events carry on). */
export interface ProjectInfo extends ProjectSummary {
  readonly entries: readonly ProjectEntry[]
  /** What was deleted, latest first (the most recent 200: project-service.ts). */
  readonly deleted: readonly DeletedEntry[]
  /** Files that others changed while this device was away, until opened here (tree nodes). */
  readonly away: readonly string[]
  /** Files in this device's folder that the project leaves out, by path. */
  readonly notShared: readonly NotSharedFile[]
}

/** A file in a shared folder that the project leaves out, and why. */
export interface NotSharedFile {
  readonly path: string
  readonly why: 'binary' | 'too-large' | 'symlink' | 'special' | 'bad-name' | 'unreadable'
}

/** Someone in a file of a project (their editor has it open), as the tree shows them. */
export interface FileVisitor {
  readonly device: string
  readonly name: string
  readonly color: string
}

/** Who is in which file of a project: tree node → the people in it (files with nobody left out). */
export type ProjectPresence = Readonly<Record<string, readonly FileVisitor[]>>

/** What a folder is picked for (the desktop's folder dialog words its title and button by it). */
export type FolderPurpose = 'share' | 'join'

/** Whether two statuses say the same (the node skips sending, the window skips rendering, a repeat). */
export const sameDocStatus = (a: DocStatus, b: DocStatus): boolean =>
  (Object.keys(a) as (keyof DocStatus)[]).every((k) => a[k] === b[k])

/** Requests the renderer may make; each key is one IPC channel `meshpad:<key>`. */
export interface MeshpadApi {
  appInfo(): Promise<ApiResult<AppInfo>>
  listDocuments(): Promise<ApiResult<DocSummary[]>>
  newDocument(title: string): Promise<ApiResult<OpenedDoc>>
  /** Opens a local text file (its document, with history, if it was opened before). */
  openFile(path: string): Promise<ApiResult<OpenedDoc>>
  openDocument(docId: string): Promise<ApiResult<OpenedDoc>>
  /** A batch made by the renderer's replica; resolves once it is durable (and sent to peers). */
  pushOps(docId: string, batch: Uint8Array): Promise<ApiResult<DocStatus>>
  /**
   * Whether the node holds the document's text in the order of the window's replica: `version` is the
   * replica's text version vector (replica ID → highest counter) and `digest` the SHA-256 of its order
   * (src/shared/crdt/order-digest.ts). A window's own keystroke integrated beside a crafted insert that
   * arrived meanwhile can leave it in another order than its node's; on 'differs' it opens the
   * document again, as on `reset` (docs/PROTOCOL.md, "Canonical order").
   */
  checkOrder(
    docId: string,
    version: Readonly<Record<string, number>>,
    digest: Uint8Array,
  ): Promise<ApiResult<TextOrderAnswer>>
  save(docId: string): Promise<ApiResult<DocStatus>>
  /**
   * Writes the document to `path` and links it there. An existing file that is not the document's own
   * is refused with `FILE_EXISTS` unless `options.overwrite` is true: ask the user first.
   */
  saveAs(docId: string, path: string, options?: SaveAsOptions): Promise<ApiResult<DocStatus>>
  status(docId: string): Promise<ApiResult<DocStatus>>
  closeDocument(docId: string): Promise<ApiResult<null>>

  // ---- collaboration ----
  /** Devices connected to this one and the documents they share on the LAN. */
  nearby(): Promise<ApiResult<NearbyDevice[]>>
  /**
   * Connects to a device by address (`host:port`), for networks where discovery cannot find it.
   * Resolves at once with the address as understood; a `peer-added` event for it tells the outcome.
   */
  addPeer(address: string): Promise<ApiResult<string>>
  /** Asks a nearby device's owner to let this device join; the answer comes as a `joined` event. */
  requestJoin(device: string, docId: string): Promise<ApiResult<null>>
  /**
   * Joins with an invite code or `meshpad://join/…` link: resolves with the document's ID once the
   * request is sent; the answer comes as a `joined` event for that ID.
   */
  joinWithInvite(code: string): Promise<ApiResult<string>>
  /** Join requests waiting for this device's answer. */
  joinRequests(): Promise<ApiResult<JoinRequestInfo[]>>
  answerJoin(requestId: string, accept: boolean, role: DocRole): Promise<ApiResult<null>>
  sharing(docId: string): Promise<ApiResult<SharingInfo>>
  setSharedOnLan(docId: string, on: boolean): Promise<ApiResult<SharingInfo>>
  /** Makes an invite (it then shows in `SharingInfo.invites`, with a `sharing` event). */
  createInvite(docId: string, role: DocRole): Promise<ApiResult<InviteInfo>>
  /** Revokes an open invite of this device's (owners only): redeeming it fails from now on. */
  revokeInvite(docId: string, inviteId: string): Promise<ApiResult<SharingInfo>>
  setRole(docId: string, device: string, role: DocRole): Promise<ApiResult<SharingInfo>>
  removeMember(docId: string, device: string): Promise<ApiResult<SharingInfo>>
  /** This window's cursor (null: not in the document), shown to the others. */
  setPresence(docId: string, cursor: CursorAnchors | null): Promise<ApiResult<null>>
  presence(docId: string): Promise<ApiResult<PresenceInfo[]>>
  /** Who wrote with each replica of the document, by replica ID. */
  authors(docId: string): Promise<ApiResult<Record<string, AuthorInfo>>>
  props(docId: string): Promise<ApiResult<PropEntry[]>>
  setProp(docId: string, key: string, value: string): Promise<ApiResult<PropEntry[]>>
  deleteProp(docId: string, key: string): Promise<ApiResult<PropEntry[]>>
  /**
   * Tells the others about a restore this window just made: each person whose text it removed gets a
   * `restored` event (kept with the document, so someone away hears of it when back).
   */
  noteRestore(docId: string, report: RestoreReport): Promise<ApiResult<null>>
  settings(): Promise<ApiResult<Settings>>
  setSettings(change: {
    displayName?: string
    color?: string
    online?: boolean
    keepDeleted?: number | 'all'
  }): Promise<ApiResult<Settings>>

  // ---- shared folders (issue 15) ----
  /**
   * Desktop only: asks the user for a folder with the system's dialog; null if they cancel. Browser
   * mode has no dialog (NOT_SUPPORTED): the path is typed there, as files are opened.
   */
  pickFolder(purpose: FolderPurpose): Promise<ApiResult<string | null>>
  /** The folders shared or joined on this device. */
  listProjects(): Promise<ApiResult<ProjectSummary[]>>
  /** Shares the folder at `path` (absolute) as a new project: every folder and text file in it. */
  shareFolder(path: string): Promise<ApiResult<ProjectSummary>>
  /**
   * Joins the project of an invite into the folder at `path` (absolute; made if missing): resolves with
   * the project's ID once the request is sent; a `project-joined` event tells the outcome, once the
   * folder holds the project.
   */
  joinProject(code: string, path: string): Promise<ApiResult<string>>
  /** The project and its tree; this window hears its `tree` and `project-presence` events from now. */
  openProject(projectId: string): Promise<ApiResult<ProjectInfo>>
  closeProject(projectId: string): Promise<ApiResult<null>>
  projectPresence(projectId: string): Promise<ApiResult<ProjectPresence>>
  /** Opens a file of the project (its tree node) in this window's editor, as `openDocument` does. */
  openProjectFile(projectId: string, node: string): Promise<ApiResult<OpenedDoc>>
  /** Creates a file or folder in `parent` (a folder's node, or null for the top): its new node. */
  createEntry(
    projectId: string,
    parent: string | null,
    name: string,
    kind: 'file' | 'folder',
  ): Promise<ApiResult<string>>
  renameEntry(projectId: string, node: string, name: string): Promise<ApiResult<null>>
  /** Moves a file or folder into `parent` (a folder's node, or null for the top), keeping its name. */
  moveEntry(projectId: string, node: string, parent: string | null): Promise<ApiResult<null>>
  /** Deletes a file or folder (with what is in it) from the project, and so from every member's folder. */
  deleteEntry(projectId: string, node: string): Promise<ApiResult<null>>
  /**
   * Puts a deleted file or folder back where it was (the top, if that folder is gone too), under its
   * name, or "name (restored)" if that is taken there now: its path.
   */
  restoreEntry(projectId: string, node: string): Promise<ApiResult<string>>
}

export type ApiRequest = keyof MeshpadApi

export const API_REQUESTS: readonly ApiRequest[] = [
  'appInfo',
  'listDocuments',
  'newDocument',
  'openFile',
  'openDocument',
  'pushOps',
  'checkOrder',
  'save',
  'saveAs',
  'status',
  'closeDocument',
  'nearby',
  'addPeer',
  'requestJoin',
  'joinWithInvite',
  'joinRequests',
  'answerJoin',
  'sharing',
  'setSharedOnLan',
  'createInvite',
  'revokeInvite',
  'setRole',
  'removeMember',
  'setPresence',
  'presence',
  'authors',
  'props',
  'setProp',
  'deleteProp',
  'noteRestore',
  'settings',
  'setSettings',
  'pickFolder',
  'listProjects',
  'shareFolder',
  'joinProject',
  'openProject',
  'closeProject',
  'projectPresence',
  'openProjectFile',
  'createEntry',
  'renameEntry',
  'moveEntry',
  'deleteEntry',
  'restoreEntry',
]

/**
 * Menu commands that the window's renderer runs (Electron's menu sends them): on its editor, or its own
 * dialogs (`open-project`: Open a project, to join one by invite into a folder).
 */
export type EditorCommand = 'undo' | 'redo' | 'find' | 'share' | 'open-project'
export const EDITOR_COMMANDS: readonly EditorCommand[] = ['undo', 'redo', 'find', 'share', 'open-project']

/** Events the node (or, in Electron, the shell) sends to the renderer. */
export type ApiEvent =
  /**
   * Ops from peers or from the file on disk, to apply to the renderer's replica (annotated remote).
   * `catchUp`: they came in a resync after time apart ("while you were away"), not live.
   */
  | { readonly type: 'ops'; readonly docId: string; readonly batch: Uint8Array; readonly catchUp?: boolean }
  | { readonly type: 'status'; readonly status: DocStatus }
  /**
   * The document's text was rebuilt (an equivocating device's edits settled on the version its peers
   * agree on): the window's replica no longer follows from it, so the window opens the document again.
   */
  | { readonly type: 'reset'; readonly docId: string }
  /** Something went wrong in the background (a save, a merge from disk): tell the user. */
  | { readonly type: 'error'; readonly docId: string | null; readonly error: ApiError }
  /** The Nearby list changed. */
  | { readonly type: 'nearby'; readonly devices: readonly NearbyDevice[] }
  /**
   * The outcome of `addPeer(address)`: connected to the device called `name`, or not (`message` says
   * why and what to do).
   */
  | {
      readonly type: 'peer-added'
      readonly address: string
      readonly ok: boolean
      readonly name: string | null
      readonly message: string
    }
  /** Someone asks to join a document this device owns: Accept or Deny (`answerJoin`). */
  | { readonly type: 'join-request'; readonly request: JoinRequestInfo }
  /** A join request was answered (in any window): its notification goes. */
  | { readonly type: 'join-answered'; readonly id: string }
  /** The answer to this device's join request or invite. */
  | { readonly type: 'joined'; readonly docId: string; readonly ok: boolean; readonly message: string }
  /** Members, roles or LAN sharing of an open document changed. */
  | { readonly type: 'sharing'; readonly sharing: SharingInfo }
  | { readonly type: 'presence'; readonly docId: string; readonly people: readonly PresenceInfo[] }
  | { readonly type: 'props'; readonly docId: string; readonly props: readonly PropEntry[] }
  /** Someone restored a past version and so removed text this device wrote (see `noteRestore`). */
  | { readonly type: 'restored'; readonly docId: string; readonly restore: RestoreNotice }
  | { readonly type: 'settings'; readonly settings: Settings }
  /** A project's tree changed (a window that opened the project hears it): the whole tree as of now. */
  | {
      readonly type: 'tree'
      readonly projectId: string
      readonly entries: readonly ProjectEntry[]
      readonly deleted: readonly DeletedEntry[]
    }
  /** Who is in which file of an open project changed. */
  | { readonly type: 'project-presence'; readonly projectId: string; readonly files: ProjectPresence }
  /** The files this device's folder holds that the project leaves out, as now (ProjectInfo.notShared). */
  | {
      readonly type: 'project-not-shared'
      readonly projectId: string
      readonly files: readonly NotSharedFile[]
    }
  /** The files of a project changed while this device was away, as they are now (ProjectInfo.away). */
  | { readonly type: 'project-away'; readonly projectId: string; readonly files: readonly string[] }
  /** The outcome of `joinProject`: ok once the folder holds the project (to every window). */
  | {
      readonly type: 'project-joined'
      readonly projectId: string
      readonly ok: boolean
      readonly message: string
    }
  /** A menu command for the focused window's editor. */
  | { readonly type: 'command'; readonly command: EditorCommand }
  /** Open this in the window (sent to a window that shows no document yet, instead of a new window). */
  | { readonly type: 'open'; readonly target: OpenTarget }

/** What the preload exposes (and the browser-mode client implements): the requests plus events. */
export interface MeshpadBridge extends MeshpadApi {
  onEvent(listener: (event: ApiEvent) => void): () => void
}

export const EVENT_CHANNEL = 'meshpad:event'

export const ipcChannel = (request: ApiRequest): string => `meshpad:${request}`

export const apiError = (code: string, message: string): ApiError => ({ ok: false, code, message })
