import type { AppInfo, MeshpadApi } from '../../shared/api'

declare global {
  interface Window {
    /** Set by the preload script in Electron; absent in browser mode until its WebSocket client exists. */
    readonly meshpad?: MeshpadApi
  }
}

/** The app API for this window: the preload bridge in Electron, a local stand-in in a plain browser. */
export function getApi(): MeshpadApi {
  if (window.meshpad) return window.meshpad
  const info: AppInfo = { name: 'Meshpad', version: 'dev', host: 'browser', platform: navigator.platform }
  return { appInfo: async () => ({ ok: true, value: info }) }
}
