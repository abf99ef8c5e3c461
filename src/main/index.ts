/**
 * Electron composition root: app lifecycle. The only file of src/main (with hosts/electron*) that
 * imports electron; everything else in src/main runs under plain Node.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, session } from 'electron'
import type { OpenTarget } from '../shared/open-target'
import { CONTENT_SECURITY_POLICY, isTrustedRendererUrl } from './security'
import { IpcHost } from './hosts/electron-ipc'
import { Windows } from './hosts/electron-windows'
import { AppService } from './hosts/app-service'
import { PeerNode } from './node/peer-node'
import { LINK_SCHEME, parseLaunchArgs, switchValue } from './shell/launch-args'
import { recentFile } from './shell/recent-documents'
import { windowStateFile } from './shell/window-state'

const rendererFile = join(__dirname, '../renderer/index.html')
const rendererFileUrl = pathToFileURL(rendererFile).href
const devUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined
const isTrusted = (url: string): boolean => isTrustedRendererUrl(url, rendererFileUrl, devUrl)
/** `electron .` puts the app's path after the executable; a packaged app does not. */
const appPathArgs = process.defaultApp ? 1 : 0
/** `--no-discovery`: no mDNS (tests, or networks where multicast is unwelcome); peers are added by hand. */
const discovery = !process.argv.includes('--no-discovery')
/** `--host=<address>`: listen for peers on one interface only (default: all). */
const listenHost = switchValue(process.argv, 'host')

const targetsOf = (argv: readonly string[], cwd: string): OpenTarget[] => {
  const { files, links } = parseLaunchArgs(argv, cwd, appPathArgs)
  return [
    ...files.map((path): OpenTarget => ({ kind: 'file', path })),
    ...links.map((link): OpenTarget => ({ kind: 'invite', link })),
  ]
}

if (!app.requestSingleInstanceLock()) {
  // Another Meshpad is running: it gets this launch's files through 'second-instance'.
  app.quit()
} else {
  let windows: Windows | null = null
  // Files and links that arrive before the app is ready (macOS sends open-file that early).
  const early: OpenTarget[] = []
  const openAll = (targets: readonly OpenTarget[]): void => {
    if (!windows) early.push(...targets)
    else for (const t of targets) windows.open(t)
  }
  app.on('open-file', (event, path) => {
    event.preventDefault()
    openAll([{ kind: 'file', path }])
  })
  app.on('open-url', (event, url) => {
    event.preventDefault()
    if (url.toLowerCase().startsWith(LINK_SCHEME)) openAll([{ kind: 'invite', link: url }])
  })
  app.on('second-instance', (_event, argv, cwd) => {
    const targets = targetsOf(argv, cwd)
    if (targets.length > 0) openAll(targets)
    else windows?.open(null)
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault())
  })
  if (!process.defaultApp) app.setAsDefaultProtocolClient('meshpad')

  void app.whenReady().then(async () => {
    // The header repeats the <meta> policy so that it also covers anything not loaded from index.html.
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({
        responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
      })
    })
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
    // The node lives as long as the app; documents and keys are kept in the app's own data folder.
    const dataDir = app.getPath('userData')
    const node = await PeerNode.start({
      dataDir,
      name: process.env['USER'] ?? 'Meshpad',
      appVersion: app.getVersion(),
      discovery,
      ...(listenHost ? { host: listenHost } : {}),
    })
    const service = new AppService({ node, host: 'electron', version: app.getVersion(), dataDir })
    const log = (message: string): void => console.warn(`meshpad: ${message}`)
    const win: Windows = new Windows({
      ipc: () => ipc,
      isTrusted,
      preload: join(__dirname, '../preload/index.js'),
      rendererFile,
      devUrl,
      windowState: windowStateFile(dataDir),
      recentFile: recentFile(dataDir),
      log,
    })
    const ipc = new IpcHost(service, {
      isTrustedSender: isTrusted,
      onOpened: (contents, doc) => win.opened(contents, doc),
      onClosed: (contents, docId) => win.closed(contents, docId),
      onProject: (contents, project) => win.projectOpened(contents, project),
      pickFolder: (contents, purpose) => win.pickFolder(contents, purpose),
    })
    await win.start()
    windows = win
    app.on('will-quit', () => {
      ipc.dispose()
      service.close()
      void node.close()
    })
    const first = [...early.splice(0), ...targetsOf(process.argv, process.cwd())]
    if (first.length === 0) win.open(null)
    else openAll(first)
    app.on('activate', () => {
      if (win.windowCount === 0) win.open(null)
    })
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
}
