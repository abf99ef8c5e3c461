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
  /** Stable, for code: NOT_FOUND, NOT_ALLOWED, STORAGE, BAD_REQUEST, FORBIDDEN_SENDER, INTERNAL… */
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
  /** Every text op of the document as one batch (`changesSince({})`): load it into a fresh TextDoc. */
  readonly state: Uint8Array
  /** The file's language for syntax highlighting, from its name (e.g. "notes.md" → markdown). */
  readonly fileName: string | null
}

/** The status bar of one document. */
export interface DocStatus {
  readonly docId: string
  readonly path: string | null
  /** Whether the file on disk holds the current text. */
  readonly saved: boolean
  /** Connected peers syncing this document. */
  readonly peers: number
  /** Whether the node has any network connection at all. */
  readonly online: boolean
  /** Catching up with a peer (sync replies in flight); `progress` in 0..1 when known. */
  readonly syncing: boolean
  readonly progress: number | null
}

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
  save(docId: string): Promise<ApiResult<DocStatus>>
  saveAs(docId: string, path: string): Promise<ApiResult<DocStatus>>
  status(docId: string): Promise<ApiResult<DocStatus>>
  closeDocument(docId: string): Promise<ApiResult<null>>
}

export type ApiRequest = keyof MeshpadApi

export const API_REQUESTS: readonly ApiRequest[] = [
  'appInfo',
  'listDocuments',
  'newDocument',
  'openFile',
  'openDocument',
  'pushOps',
  'save',
  'saveAs',
  'status',
  'closeDocument',
]

/** Menu commands that act on the window's editor, so the renderer runs them (Electron's menu sends them). */
export type EditorCommand = 'undo' | 'redo' | 'find' | 'share'
export const EDITOR_COMMANDS: readonly EditorCommand[] = ['undo', 'redo', 'find', 'share']

/** Events the node (or, in Electron, the shell) sends to the renderer. */
export type ApiEvent =
  /** Ops from peers or from the file on disk, to apply to the renderer's replica (annotated remote). */
  | { readonly type: 'ops'; readonly docId: string; readonly batch: Uint8Array }
  | { readonly type: 'status'; readonly status: DocStatus }
  /** Something went wrong in the background (a save, a merge from disk): tell the user. */
  | { readonly type: 'error'; readonly docId: string | null; readonly error: ApiError }
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
