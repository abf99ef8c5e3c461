import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import {
  API_REQUESTS,
  apiError,
  EVENT_CHANNEL,
  ipcChannel,
  type ApiEvent,
  type ApiResult,
  type DocSummary,
  type MeshpadApi,
  type ProjectSummary,
} from '../../shared/api'
import type { AppClient, AppService } from './app-service'

export interface IpcHooks {
  /** Whether a frame's URL is Meshpad's own renderer. */
  readonly isTrustedSender: (url: string) => boolean
  /** A window opened (or created) a document: the shell tracks it for Save, Close and Open Recent. */
  readonly onOpened: (contents: WebContents, doc: DocSummary) => void
  /** A window went back to its document list: it shows no document any more. */
  readonly onClosed: (contents: WebContents, docId: string) => void
  /** A window opened a project (it is that project's window from now on). */
  readonly onProject: (contents: WebContents, project: ProjectSummary) => void
  /** The system's folder dialog over the window (`pickFolder`): the folder chosen, or null. */
  readonly pickFolder: (contents: WebContents, purpose: 'share' | 'join') => Promise<string | null>
}

const OPENING_REQUESTS = new Set(['newDocument', 'openFile', 'openDocument'])

/**
 * Serves the app API over ipcMain, every request delegated to the AppService. Every request's sender
 * frame is checked first: a frame that is not Meshpad's own renderer (an injected iframe, a page
 * navigated elsewhere) gets an error, never a result. Each window (WebContents) gets its own AppClient,
 * so its events (remote ops, status) go to it alone, with webContents.send on EVENT_CHANNEL; the shell
 * uses the same client for the menu's Save and the close prompt.
 */
export class IpcHost {
  private readonly clients = new Map<WebContents, AppClient>()
  private readonly channels: string[] = []

  constructor(
    private readonly service: AppService,
    private readonly hooks: IpcHooks,
  ) {
    for (const request of API_REQUESTS) {
      const channel = ipcChannel(request)
      this.channels.push(channel)
      ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
        const url = event.senderFrame?.url ?? ''
        if (!hooks.isTrustedSender(url))
          return apiError('FORBIDDEN_SENDER', `IPC from an untrusted frame was refused.`)
        // The dialog is the shell's (the AppService, in plain Node, has none): the user picks, not the page.
        if (request === 'pickFolder') {
          const purpose = args[0] === 'join' ? 'join' : 'share'
          return { ok: true, value: await hooks.pickFolder(event.sender, purpose) }
        }
        const method = this.clientFor(event.sender)[request] as (
          ...a: unknown[]
        ) => Promise<ApiResult<unknown>>
        const result = await method(...args)
        if (result.ok && OPENING_REQUESTS.has(request)) {
          hooks.onOpened(event.sender, result.value as DocSummary)
        } else if (result.ok && request === 'openProject') {
          hooks.onProject(event.sender, result.value as ProjectSummary)
        } else if (result.ok && request === 'closeDocument') {
          hooks.onClosed(event.sender, args[0] as string)
        }
        return result
      })
    }
  }

  /** The window's client, made on its first request (or the shell's first use). */
  clientFor(contents: WebContents): MeshpadApi {
    let client = this.clients.get(contents)
    if (!client) {
      client = this.service.connect((event) => this.send(contents, event))
      this.clients.set(contents, client)
      contents.once('destroyed', () => {
        this.clients.get(contents)?.close()
        this.clients.delete(contents)
      })
    }
    return client
  }

  /** An event for one window (from the node, or a menu command from the shell). */
  send(contents: WebContents, event: ApiEvent): void {
    if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, event)
  }

  dispose(): void {
    this.channels.forEach((c) => ipcMain.removeHandler(c))
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
  }
}
