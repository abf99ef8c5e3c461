import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import { API_REQUESTS, apiError, EVENT_CHANNEL, ipcChannel, type MeshpadApi } from '../../shared/api'
import type { AppClient, AppService } from './app-service'

/**
 * Serves the app API over ipcMain, every request delegated to the AppService. Every request's sender
 * frame is checked first: a frame that is not Meshpad's own renderer (an injected iframe, a page
 * navigated elsewhere) gets an error, never a result. Each window (WebContents) gets its own AppClient,
 * so its events (remote ops, status) go to it alone, with webContents.send on EVENT_CHANNEL.
 */
export function registerIpcHandlers(
  isTrustedSender: (url: string) => boolean,
  service: AppService,
): () => void {
  const clients = new Map<WebContents, AppClient>()
  const clientFor = (contents: WebContents): AppClient => {
    let client = clients.get(contents)
    if (!client) {
      client = service.connect((event) => {
        if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, event)
      })
      clients.set(contents, client)
      contents.once('destroyed', () => {
        clients.get(contents)?.close()
        clients.delete(contents)
      })
    }
    return client
  }
  const channels: string[] = []
  for (const request of API_REQUESTS) {
    const channel = ipcChannel(request)
    channels.push(channel)
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      const url = event.senderFrame?.url ?? ''
      if (!isTrustedSender(url))
        return apiError('FORBIDDEN_SENDER', `IPC from an untrusted frame was refused.`)
      const method = clientFor(event.sender)[request] as (
        ...a: unknown[]
      ) => ReturnType<MeshpadApi[typeof request]>
      return method(...args)
    })
  }
  return () => {
    channels.forEach((c) => ipcMain.removeHandler(c))
    for (const client of clients.values()) client.close()
    clients.clear()
  }
}
