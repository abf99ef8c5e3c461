/**
 * The preload bridge: exposes the app API as `window.meshpad`, one method per request plus `onEvent`,
 * and nothing else (never ipcRenderer itself), so a compromised renderer can only make the requests
 * the API names. The methods are made from API_REQUESTS, the same list main registers handlers for.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { API_REQUESTS, EVENT_CHANNEL, ipcChannel, type ApiEvent, type MeshpadBridge } from '../shared/api'

const requests = Object.fromEntries(
  API_REQUESTS.map((request) => {
    const channel = ipcChannel(request)
    return [request, (...args: unknown[]) => ipcRenderer.invoke(channel, ...args)]
  }),
) as unknown as Omit<MeshpadBridge, 'onEvent'>

const api: MeshpadBridge = {
  ...requests,
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
