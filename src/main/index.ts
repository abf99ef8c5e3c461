/**
 * Electron composition root: app lifecycle and the window. The only file of src/main (with
 * hosts/electron*) that imports electron; everything else in src/main runs under plain Node.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow, session, shell } from 'electron'
import { CONTENT_SECURITY_POLICY, SECURE_WEB_PREFERENCES, isTrustedRendererUrl } from './security'
import { registerIpcHandlers } from './hosts/electron-ipc'
import { AppService } from './hosts/app-service'
import { PeerNode } from './node/peer-node'

const rendererFile = join(__dirname, '../renderer/index.html')
const rendererFileUrl = pathToFileURL(rendererFile).href
const devUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined
const isTrusted = (url: string): boolean => isTrustedRendererUrl(url, rendererFileUrl, devUrl)

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    show: false,
    title: 'Meshpad',
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: join(__dirname, '../preload/index.js') },
  })
  win.once('ready-to-show', () => win.show())
  // Links open in the user's browser; the window itself never navigates away or opens new windows.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https:')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (event, url) => {
    if (!isTrusted(url)) event.preventDefault()
  })
  if (devUrl) void win.loadURL(devUrl)
  else void win.loadFile(rendererFile)
  return win
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault())
  })
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
      discovery: true,
    })
    const service = new AppService({ node, host: 'electron', version: app.getVersion(), dataDir })
    registerIpcHandlers(isTrusted, service)
    app.on('will-quit', () => {
      service.close()
      void node.close()
    })
    createWindow()
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow()
    })
  })
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
}
