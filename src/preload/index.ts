/**
 * The preload bridge: exposes the app API as `window.meshpad`, one method per request plus `onEvent`,
 * and nothing else (never ipcRenderer itself), so a compromised renderer can only make the requests
 * the API names.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { EVENT_CHANNEL, ipcChannel, type ApiEvent, type MeshpadBridge } from '../shared/api'

const api: MeshpadBridge = {
  appInfo: () => ipcRenderer.invoke(ipcChannel('appInfo')),
  listDocuments: () => ipcRenderer.invoke(ipcChannel('listDocuments')),
  newDocument: (title) => ipcRenderer.invoke(ipcChannel('newDocument'), title),
  openFile: (path) => ipcRenderer.invoke(ipcChannel('openFile'), path),
  openDocument: (docId) => ipcRenderer.invoke(ipcChannel('openDocument'), docId),
  pushOps: (docId, batch) => ipcRenderer.invoke(ipcChannel('pushOps'), docId, batch),
  save: (docId) => ipcRenderer.invoke(ipcChannel('save'), docId),
  saveAs: (docId, path) => ipcRenderer.invoke(ipcChannel('saveAs'), docId, path),
  status: (docId) => ipcRenderer.invoke(ipcChannel('status'), docId),
  closeDocument: (docId) => ipcRenderer.invoke(ipcChannel('closeDocument'), docId),
  onEvent: (listener) => {
    // The IPC event object (with its sender) never reaches the page: only the API event does.
    const wrapped = (_event: IpcRendererEvent, apiEvent: ApiEvent): void => listener(apiEvent)
    ipcRenderer.on(EVENT_CHANNEL, wrapped)
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, wrapped)
    }
  },
}

contextBridge.exposeInMainWorld('meshpad', api)
