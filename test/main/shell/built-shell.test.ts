/**
 * The Electron shell as built (out/main/index.js and out/preload/index.js from `npm run build`), run
 * under plain Node with a recording stand-in for the electron module (test/support/electron-stub.ts):
 * the real bundle, the real PeerNode and AppService, real files. It proves the security settings the
 * shell applies and drives its window, menu, IPC and close-prompt logic through Electron's own events.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_REQUESTS, ipcChannel, type ApiResult, type OpenedDoc } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { ElectronStub, FakeWindow, loadWithElectronStub } from '../../support/electron-stub'

const mainBundle = join(process.cwd(), 'out/main/index.js')
const preloadBundle = join(process.cwd(), 'out/preload/index.js')
const rendererUrl = `file://${join(process.cwd(), 'out/renderer/index.html')}`

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('Electron shell as built', () => {
  const stub = new ElectronStub()
  const userData = mkdtempSync(join(tmpdir(), 'meshpad-shell-data-'))
  const files = mkdtempSync(join(tmpdir(), 'meshpad-shell-files-'))
  const notes = join(files, 'notes.md')
  const savedArgv = process.argv

  /** Calls an IPC handler as a frame at `url` in `win` would. */
  const invoke = async <T>(win: FakeWindow, request: string, url: string, ...args: unknown[]) =>
    (await stub.handlers.get(ipcChannel(request as never))!(
      { senderFrame: { url }, sender: win.webContents },
      ...args,
    )) as ApiResult<T>

  beforeAll(async () => {
    if (!existsSync(mainBundle))
      throw new Error('out/main is missing: run `npm run build` first (npm test does).')
    writeFileSync(notes, '# Notes\n')
    // Where the last session's window was.
    writeFileSync(
      join(userData, 'window-state.json'),
      JSON.stringify({ x: 200, y: 150, width: 1000, height: 700, maximized: false }),
    )
    stub.paths['userData'] = userData
    stub.paths['documents'] = files
    // As a launch would be: a file to open, no mDNS on this machine's real network, loopback only.
    process.argv = [process.execPath, '--no-discovery', '--host=127.0.0.1', notes]
    loadWithElectronStub(mainBundle, stub)
    stub.fireReady()
    await until(() => FakeWindow.all.length === 1, 'the first window')
  })

  afterAll(async () => {
    process.argv = savedArgv
    stub.app.emit('will-quit')
    await new Promise((r) => setTimeout(r, 200)) // the node closes its sockets
  })

  it('opens windows isolated, sandboxed, without Node, with the preload only', () => {
    const prefs = FakeWindow.all[0]!.options['webPreferences'] as Record<string, unknown>
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
    expect(prefs['preload']).toBe(join(process.cwd(), 'out/preload/index.js'))
  })

  it('sends a CSP header without unsafe-eval and refuses every permission request', () => {
    let headers: Record<string, string[]> = {}
    stub.headerFilter!(
      { responseHeaders: { 'X-Other': ['1'] } },
      (r: { responseHeaders: Record<string, string[]> }) => {
        headers = r.responseHeaders
      },
    )
    const csp = headers['Content-Security-Policy']![0]!
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toMatch(/unsafe-eval/)
    expect(headers['X-Other']).toEqual(['1'])
    let granted: boolean | undefined
    stub.permissionHandler!(null, 'media', (ok: boolean) => (granted = ok))
    expect(granted).toBe(false)
  })

  it('handles exactly the API channels and refuses IPC from any other frame', async () => {
    expect([...stub.handlers.keys()].sort()).toEqual(API_REQUESTS.map(ipcChannel).sort())
    const win = FakeWindow.all[0]!
    for (const url of ['https://evil.example/', 'file:///tmp/evil.html', '', 'about:blank']) {
      const result = await invoke(win, 'appInfo', url)
      expect(result).toMatchObject({ ok: false, code: 'FORBIDDEN_SENDER' })
    }
    const info = await invoke<{ host: string }>(win, 'appInfo', rendererUrl)
    expect(info.ok && info.value.host).toBe('electron')
  })

  it('blocks navigation away, new windows and webviews; https links go to the browser', () => {
    const wc = FakeWindow.all[0]!.webContents
    expect(wc.prevented('will-navigate', 'https://evil.example/')).toBe(true)
    expect(wc.prevented('will-navigate', 'file:///etc/passwd')).toBe(true)
    expect(wc.prevented('will-navigate', rendererUrl + '#doc=x')).toBe(false)
    expect(wc.windowOpenHandler!({ url: 'https://meshpad.example/help' })).toEqual({ action: 'deny' })
    expect(wc.windowOpenHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    expect(stub.opened).toEqual(['https://meshpad.example/help'])
    const other = new (class extends FakeWindow {})({ width: 1, height: 1 }).webContents
    stub.app.emit('web-contents-created', {}, other)
    expect(other.prevented('will-attach-webview')).toBe(true)
    FakeWindow.all.pop()
  })

  it('opens the file given on the command line in its own window, where the last one was', () => {
    const first = FakeWindow.all[0]!
    expect(first.loaded.hash).toBe(`file=${encodeURIComponent(notes)}`)
    expect(first.options).toMatchObject({ x: 200, y: 150, width: 1000, height: 700 })
  })

  it('builds the menu with the usual accelerators, and New opens a new window', async () => {
    expect(stub.menuItem('Save')?.accelerator).toBe('CmdOrCtrl+S')
    expect(stub.menuItem('Open…')?.accelerator).toBe('CmdOrCtrl+O')
    stub.menuItem('New')!.click!()
    expect(FakeWindow.all).toHaveLength(2)
    expect(FakeWindow.all[1]!.loaded.hash).toBe('new=')
    // The second window cascades off the first rather than hiding it.
    expect(FakeWindow.all[1]!.options).toMatchObject({ x: 228, y: 178, width: 1000, height: 700 })
  })

  it("sends editor commands (Undo, Find) and Open a Project… (the window's dialog) to the focused window only", () => {
    const [first, second] = FakeWindow.all
    second!.focus()
    stub.menuItem('Undo')!.click!()
    stub.menuItem('Find…')!.click!()
    stub.menuItem('Open a Project…')!.click!()
    const commands = (w: FakeWindow) =>
      w.webContents.sent
        .filter((s) => (s.payload as { type: string }).type === 'command')
        .map((s) => (s.payload as { command: string }).command)
    expect(commands(second!)).toEqual(['undo', 'find', 'open-project'])
    expect(commands(first!)).toEqual([])
  })

  it('asks before closing a window whose file has unsaved changes, and saves on request', async () => {
    const win = FakeWindow.all[0]!
    win.focus()
    // The renderer opens the file from its URL and types, as the real one does through the preload.
    const opened = await invoke<OpenedDoc>(win, 'openFile', rendererUrl, notes)
    if (!opened.ok) throw new Error(opened.message)
    expect(win.title).toBe('notes.md — Meshpad')
    expect(stub.app.recentDocuments).toContain(notes)
    expect(stub.menuItem(notes)).toBeDefined() // Open Recent lists it
    const replica = new TextDoc(opened.value.replica)
    replica.applyRemote(opened.value.state)
    const pushed = await invoke(
      win,
      'pushOps',
      rendererUrl,
      opened.value.docId,
      replica.localInsert(8, 'typed\n'),
    )
    expect(pushed.ok).toBe(true)

    stub.messageBoxAnswers.push(2) // Cancel
    win.close()
    await until(() => stub.messageBoxes.length === 1, 'the prompt')
    expect(String(stub.messageBoxes[0]!['message'])).toContain('notes.md')
    await new Promise((r) => setTimeout(r, 50))
    expect(win.isDestroyed()).toBe(false)
    expect(readFileSync(notes, 'utf8')).toBe('# Notes\n')

    stub.messageBoxAnswers.push(0) // Save
    win.close()
    await until(() => win.isDestroyed(), 'the window to close after saving')
    expect(readFileSync(notes, 'utf8')).toBe('# Notes\ntyped\n')
    // Its size and place are remembered for the next launch.
    expect(JSON.parse(readFileSync(join(userData, 'window-state.json'), 'utf8'))).toEqual({
      x: 200,
      y: 150,
      width: 1000,
      height: 700,
      maximized: false,
    })
  })

  it('closes a window with nothing unsaved without asking', async () => {
    const win = FakeWindow.all[1]!
    const asked = stub.messageBoxes.length
    win.close()
    await until(() => win.isDestroyed(), 'the window to close')
    expect(stub.messageBoxes.length).toBe(asked)
  })

  it('saves a new document where the native Save dialog says, which asks before replacing a file', async () => {
    const existing = join(files, 'replace-me.txt')
    writeFileSync(existing, 'old\n')
    stub.menuItem('New')!.click!()
    const win = FakeWindow.all.at(-1)!
    win.focus()
    const opened = await invoke<OpenedDoc>(win, 'newDocument', rendererUrl, 'Untitled')
    if (!opened.ok) throw new Error(opened.message)
    const replica = new TextDoc(opened.value.replica)
    replica.applyRemote(opened.value.state)
    const typed = replica.localInsert(0, 'new text\n')
    expect((await invoke(win, 'pushOps', rendererUrl, opened.value.docId, typed)).ok).toBe(true)
    // The user picks an existing file and confirms replacing it in the native dialog.
    const boxes = stub.messageBoxes.length
    stub.saveDialogAnswer = existing
    stub.menuItem('Save')!.click!()
    await until(() => readFileSync(existing, 'utf8') === 'new text\n', 'the save')
    stub.saveDialogAnswer = null
    expect(stub.saveDialogs.at(-1)).toMatchObject({
      title: 'Save',
      properties: expect.arrayContaining(['showOverwriteConfirmation']) as unknown,
    })
    expect(stub.messageBoxes.length).toBe(boxes) // no error
  })

  it('hands a second launch’s files to the running app, focusing a window that shows one', async () => {
    const other = join(files, 'other.txt')
    writeFileSync(other, 'other\n')
    const before = FakeWindow.all.length
    stub.app.emit('second-instance', {}, ['/opt/Meshpad/meshpad', '--no-sandbox', 'other.txt'], files)
    expect(FakeWindow.all.length).toBe(before + 1)
    const win = FakeWindow.all.at(-1)!
    expect(win.loaded.hash).toBe(`file=${encodeURIComponent(other)}`)
    const opened = await invoke<OpenedDoc>(win, 'openFile', rendererUrl, other)
    expect(opened.ok).toBe(true)
    stub.app.emit('second-instance', {}, ['/opt/Meshpad/meshpad', other], '/')
    expect(FakeWindow.all.length).toBe(before + 1) // already open: focused, not duplicated
    expect(FakeWindow.getFocusedWindow()).toBe(win)
  })

  it('picks a folder to share with the system dialog (folders only), and names the window by its project', async () => {
    const win = FakeWindow.all.at(-1)! // the window the last test opened
    const project = mkdtempSync(join(tmpdir(), 'meshpad-shell-project-'))
    writeFileSync(join(project, 'a.md'), 'a\n')
    const refused = await invoke(win, 'pickFolder', 'https://evil.example/', 'share')
    expect(refused).toMatchObject({ ok: false, code: 'FORBIDDEN_SENDER' })
    expect(stub.openDialogs).toHaveLength(0)
    stub.openDialogAnswer = [project]
    const picked = await invoke<string | null>(win, 'pickFolder', rendererUrl, 'share')
    expect(picked).toEqual({ ok: true, value: project })
    expect(stub.openDialogs.at(-1)).toMatchObject({ properties: ['openDirectory'], buttonLabel: 'Share' })
    stub.openDialogAnswer = []
    expect(await invoke(win, 'pickFolder', rendererUrl, 'join')).toEqual({ ok: true, value: null })
    expect(stub.openDialogs.at(-1)).toMatchObject({ properties: ['openDirectory', 'createDirectory'] })
    const shared = await invoke<{ projectId: string }>(win, 'shareFolder', rendererUrl, project)
    if (!shared.ok) throw new Error(shared.message)
    expect((await invoke(win, 'openProject', rendererUrl, shared.value.projectId)).ok).toBe(true)
    expect(win.title).toMatch(/^meshpad-shell-project-.* — Meshpad$/)
  })

  it('frees a window that went back to its document list for the next document opened', async () => {
    const win = FakeWindow.all.at(-1)!
    const other = join(files, 'other.txt')
    const opened = await invoke<OpenedDoc>(win, 'openFile', rendererUrl, other)
    if (!opened.ok) throw new Error(opened.message)
    expect((await invoke(win, 'closeDocument', rendererUrl, opened.value.docId)).ok).toBe(true)
    expect(win.title).toBe('Meshpad')
    // The window shows the list: the file opened again goes to it, not to a new window.
    const before = FakeWindow.all.length
    stub.app.emit('second-instance', {}, ['/opt/Meshpad/meshpad', other], '/')
    expect(FakeWindow.all.length).toBe(before)
    expect(win.webContents.sent.at(-1)?.payload).toEqual({
      type: 'open',
      target: { kind: 'file', path: other },
    })
  })

  it('File › Share a Folder… shares the folder the dialog gives and opens its project in a window', async () => {
    const project = mkdtempSync(join(tmpdir(), 'meshpad-shell-menu-project-'))
    writeFileSync(join(project, 'b.md'), 'b\n')
    stub.openDialogAnswer = [project]
    const before = FakeWindow.all.length
    FakeWindow.all.at(-1)!.focus()
    stub.menuItem('Share a Folder…')!.click!()
    // A new window for the project (every window shows something), its hash naming the project.
    await until(() => FakeWindow.all.length === before + 1, 'the project window')
    expect(FakeWindow.all.at(-1)!.loaded.hash).toMatch(/^project=[0-9a-f]{32}$/)
    stub.openDialogAnswer = []
  })
})

describe('preload as built', () => {
  it('exposes one function per API request plus onEvent, and never ipcRenderer', async () => {
    const stub = new ElectronStub()
    loadWithElectronStub(preloadBundle, stub)
    expect(stub.exposedName).toBe('meshpad')
    const api = stub.exposed!
    expect(Object.keys(api).sort()).toEqual([...API_REQUESTS, 'onEvent'].sort())
    expect(Object.values(api).every((v) => typeof v === 'function')).toBe(true)
    expect(Object.values(api)).not.toContain(stub.ipcRenderer)
    await (api['save'] as (id: string) => Promise<unknown>)('d'.repeat(32))
    expect(stub.invoked).toEqual([['meshpad:save', 'd'.repeat(32)]])
    // Events reach the page without Electron's event object (and so without its sender).
    const heard: unknown[] = []
    const off = (api['onEvent'] as (l: (e: unknown) => void) => () => void)((e) => heard.push(e))
    stub.ipcRenderer.emit('meshpad:event', { sender: 'secret' }, { type: 'status' })
    off()
    stub.ipcRenderer.emit('meshpad:event', { sender: 'secret' }, { type: 'late' })
    expect(heard).toEqual([{ type: 'status' }])
  })
})
