/**
 * The app API: the one contract between the UI (renderer) and the node (main process or the headless
 * host). The preload exposes exactly one method per request; the browser-mode host will implement the
 * same interface over a WebSocket. Expected failures come back as `ApiError` values rather than thrown
 * errors, because only `message` survives Electron's IPC serialisation of an Error.
 */

export interface AppInfo {
  readonly name: string
  readonly version: string
  /** Which host serves the API: the Electron shell or the browser-mode server. */
  readonly host: 'electron' | 'browser'
  readonly platform: string
}

export interface ApiError {
  readonly ok: false
  readonly code: string
  readonly message: string
}

export type ApiResult<T> = { readonly ok: true; readonly value: T } | ApiError

/** Requests the renderer may make. Each key is one IPC channel `meshpad:<key>`. */
export interface MeshpadApi {
  appInfo(): Promise<ApiResult<AppInfo>>
}

export type ApiRequest = keyof MeshpadApi

export const API_REQUESTS: readonly ApiRequest[] = ['appInfo']

export const ipcChannel = (request: ApiRequest): string => `meshpad:${request}`

export const apiError = (code: string, message: string): ApiError => ({ ok: false, code, message })
