import { app, ipcMain, type IpcMainInvokeEvent } from 'electron'
import { apiError, ipcChannel, type ApiResult, type AppInfo, type MeshpadApi } from '../../shared/api'

type Handlers = { [K in keyof MeshpadApi]: (...args: Parameters<MeshpadApi[K]>) => ReturnType<MeshpadApi[K]> }

/**
 * Serves the app API over ipcMain. Every request's sender frame is checked first: a frame that is not
 * Meshpad's own renderer (an injected iframe, a page navigated elsewhere) gets an error, never a result.
 */
export function registerIpcHandlers(isTrustedSender: (url: string) => boolean): () => void {
  const handlers: Handlers = {
    appInfo: async (): Promise<ApiResult<AppInfo>> => ({
      ok: true,
      value: { name: 'Meshpad', version: app.getVersion(), host: 'electron', platform: process.platform },
    }),
  }
  const channels: string[] = []
  for (const [request, handler] of Object.entries(handlers)) {
    const channel = ipcChannel(request as keyof MeshpadApi)
    channels.push(channel)
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      const url = event.senderFrame?.url ?? ''
      if (!isTrustedSender(url))
        return apiError('FORBIDDEN_SENDER', `IPC from an untrusted frame was refused.`)
      return (handler as (...a: unknown[]) => Promise<unknown>)(...args)
    })
  }
  return () => channels.forEach((c) => ipcMain.removeHandler(c))
}
