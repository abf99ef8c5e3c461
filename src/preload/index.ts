/**
 * The preload bridge: exposes the app API as `window.meshpad`, one method per request and nothing
 * else (never ipcRenderer itself), so a compromised renderer can only make the requests the API names.
 */
import { contextBridge, ipcRenderer } from 'electron'
import { ipcChannel, type MeshpadApi } from '../shared/api'

const api: MeshpadApi = {
  appInfo: () => ipcRenderer.invoke(ipcChannel('appInfo')),
}

contextBridge.exposeInMainWorld('meshpad', api)
