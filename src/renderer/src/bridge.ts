import { API_REQUESTS, apiError, type AppInfo, type MeshpadApi, type MeshpadBridge } from '../../shared/api'
import { connectWebSocketApi, tokenFromLocation } from './api-client'
import { drawTyped } from './binding/sync'

declare global {
  interface Window {
    /** Set by the preload script in Electron; absent in a plain browser. */
    readonly meshpad?: MeshpadBridge
  }
}

let api: MeshpadBridge | null = null

/**
 * The app API for this window: the preload bridge in Electron, the WebSocket client in browser mode
 * (the page was served by `meshpad serve`, with its token in the URL), else a stand-in with no node
 * behind it, so the bare renderer (a static server, a test) still shows a working scratch editor.
 */
export function getApi(): MeshpadBridge {
  if (api) return api
  if (window.meshpad) return (api = drawingTypedFirst(window.meshpad))
  const token = tokenFromLocation(window.location)
  if (token) return (api = drawingTypedFirst(connectWebSocketApi(token, window.location)))
  const info: AppInfo = {
    name: 'Meshpad',
    version: 'dev',
    host: 'browser',
    platform: navigator.platform,
    deviceId: '',
    displayName: '',
  }
  const none = async (): Promise<ReturnType<typeof apiError>> =>
    apiError('NO_NODE', 'No Meshpad node: open the URL that `meshpad serve` printed.')
  const requests = Object.fromEntries(API_REQUESTS.map((r) => [r, none])) as unknown as MeshpadApi
  return (api = {
    ...requests,
    appInfo: async () => ({ ok: true, value: info }),
    onEvent: () => () => undefined,
  })
}

/**
 * The node's events reach their listeners once every editor shows every keystroke typed in it: they
 * read and change editors, whose replicas hold those keystrokes already (typing.ts).
 */
function drawingTypedFirst(bridge: MeshpadBridge): MeshpadBridge {
  return {
    ...bridge,
    onEvent: (listener) =>
      bridge.onEvent((event) => {
        drawTyped()
        listener(event)
      }),
  }
}

/** Whether a node is behind the API (false for the stand-in). */
export const hasNode = (): boolean => Boolean(window.meshpad) || tokenFromLocation(window.location) !== null

/** Browser mode: a node behind a WebSocket, no Electron shell (so no menu and no native dialogs). */
export const isBrowserMode = (): boolean => !window.meshpad && tokenFromLocation(window.location) !== null
