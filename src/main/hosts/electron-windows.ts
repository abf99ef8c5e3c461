/**
 * The Electron shell's windows: one window per document (see docs/ARCHITECTURE.md, "Windows"), the
 * application menu, the native Open/Save dialogs, the unsaved-changes prompt on close, Open Recent and
 * remembered window bounds. Everything that can be decided without Electron lives in src/main/shell
 * and is tested under plain Node; this file only wires it to Electron's objects.
 */
import { join } from 'node:path'
import { app, BrowserWindow, dialog, Menu, screen, shell, type MenuItemConstructorOptions } from 'electron'
import type { DocSummary, ProjectSummary } from '../../shared/api'
import { docTitle } from '../../shared/doc-title'
import { openTargetHash, type OpenTarget } from '../../shared/open-target'
import { SECURE_WEB_PREFERENCES } from '../security'
import {
  folderPickerOptions,
  suggestedFileName,
  TEXT_FILE_FILTERS,
  unsavedChangesPrompt,
  unsavedChoice,
} from '../shell/dialogs'
import type { JsonFile } from '../shell/json-file'
import { isEditorCommand, menuTemplate, type MenuCommand, type MenuSpec } from '../shell/menu-template'
import { withRecent, type RecentEntry } from '../shell/recent-documents'
import { cascade, fitToDisplays, type WindowState } from '../shell/window-state'
import type { IpcHost } from './electron-ipc'

export interface WindowsOptions {
  readonly ipc: () => IpcHost
  readonly isTrusted: (url: string) => boolean
  readonly preload: string
  readonly rendererFile: string
  readonly devUrl: string | undefined
  readonly windowState: JsonFile<WindowState>
  readonly recentFile: JsonFile<RecentEntry[]>
  readonly log: (message: string) => void
}

interface WindowInfo {
  /** What the window was asked to open (its renderer opens it); null for the start screen. */
  target: OpenTarget | null
  doc: DocSummary | null
  /** Set once the close was confirmed (or needed no prompt): the next close goes through. */
  closeConfirmed: boolean
}

export class Windows {
  private readonly info = new Map<BrowserWindow, WindowInfo>()
  private state: WindowState | null = null
  private recent: RecentEntry[] = []
  private quitting = false
  private saveStateTimer: NodeJS.Timeout | null = null

  constructor(private readonly options: WindowsOptions) {}

  async start(): Promise<void> {
    const report = (message: string): void => this.options.log(message)
    this.state = await this.options.windowState.read(report)
    this.recent = await this.options.recentFile.read(report)
    this.rebuildMenu()
    app.on('before-quit', () => {
      this.quitting = true
    })
    app.on('browser-window-focus', () => this.rebuildMenu())
  }

  /** Opens `target`: focuses the window that already shows it, reuses an empty window, or makes one. */
  open(target: OpenTarget | null): void {
    const existing = target ? this.windowShowing(target) : undefined
    if (existing) {
      if (existing.isMinimized()) existing.restore()
      existing.focus()
      return
    }
    const empty = [...this.info].find(([w, i]) => i.target === null && i.doc === null && !w.isDestroyed())
    if (target && empty) {
      const [win, info] = empty
      info.target = target
      this.options.ipc().send(win.webContents, { type: 'open', target })
      win.focus()
      return
    }
    this.createWindow(target)
  }

  /** A window's renderer opened a document. */
  opened(contents: Electron.WebContents, doc: DocSummary): void {
    const win = BrowserWindow.fromWebContents(contents)
    const info = win ? this.info.get(win) : undefined
    if (!win || !info) return
    info.doc = doc
    // The renderer keeps it current (document.title) as the document is renamed or saved elsewhere.
    win.setTitle(`${docTitle(doc.title, doc.path)} — Meshpad`)
    if (doc.path) win.setRepresentedFilename(doc.path)
    this.remember(
      doc.path ? { kind: 'file', path: doc.path } : { kind: 'doc', docId: doc.docId, title: doc.title },
    )
  }

  /** A window's renderer went back to its document list: it is free for the next document opened. */
  closed(contents: Electron.WebContents, docId: string): void {
    const win = BrowserWindow.fromWebContents(contents)
    const info = win ? this.info.get(win) : undefined
    if (!win || !info || info.doc?.docId !== docId) return
    info.doc = null
    info.target = null
    win.setTitle('Meshpad')
    win.setRepresentedFilename('')
  }

  /** A window's renderer opened a project: it is the project's window (Windows.open focuses it). */
  projectOpened(contents: Electron.WebContents, project: ProjectSummary): void {
    const win = BrowserWindow.fromWebContents(contents)
    const info = win ? this.info.get(win) : undefined
    if (!win || !info) return
    info.target = { kind: 'project', projectId: project.projectId }
    win.setTitle(`${project.title} — Meshpad`)
    win.setRepresentedFilename(project.dir)
  }

  /** The folder dialog over the window whose page asked (share a folder, or join a project into one). */
  async pickFolder(contents: Electron.WebContents, purpose: 'share' | 'join'): Promise<string | null> {
    const win = BrowserWindow.fromWebContents(contents)
    const options = folderPickerOptions(purpose)
    const choice = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options)
    return choice.canceled ? null : (choice.filePaths[0] ?? null)
  }

  get windowCount(): number {
    return this.info.size
  }

  private windowShowing(target: OpenTarget): BrowserWindow | undefined {
    for (const [win, info] of this.info) {
      const doc = info.doc
      if (!doc) continue
      if (target.kind === 'doc' && doc.docId === target.docId) return win
      if (target.kind === 'file' && doc.path === target.path) return win
    }
    // One window per project: the one that was opened for it.
    if (target.kind === 'project') {
      for (const [win, info] of this.info) {
        if (info.target?.kind === 'project' && info.target.projectId === target.projectId) return win
      }
    }
    return undefined
  }

  private createWindow(target: OpenTarget | null): BrowserWindow {
    const areas = screen.getAllDisplays().map((d) => d.workArea)
    let bounds = fitToDisplays(this.state ?? { width: 1100, height: 760, maximized: false }, areas)
    // A second window at the same spot would hide the first exactly.
    const taken = [...this.info.keys()].some((w) => {
      const b = w.getBounds()
      return b.x === bounds.x && b.y === bounds.y
    })
    if (taken) bounds = fitToDisplays(cascade(bounds), areas)
    const win = new BrowserWindow({
      ...(bounds.x !== undefined && bounds.y !== undefined ? { x: bounds.x, y: bounds.y } : {}),
      width: bounds.width,
      height: bounds.height,
      minWidth: 480,
      minHeight: 320,
      show: false,
      title: 'Meshpad',
      webPreferences: { ...SECURE_WEB_PREFERENCES, preload: this.options.preload },
    })
    const info: WindowInfo = { target, doc: null, closeConfirmed: false }
    this.info.set(win, info)
    win.once('ready-to-show', () => {
      if (bounds.maximized) win.maximize()
      win.show()
    })
    // Links open in the user's browser; the window itself never navigates away or opens new windows.
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (url.startsWith('https:')) void shell.openExternal(url)
      return { action: 'deny' }
    })
    win.webContents.on('will-navigate', (event, url) => {
      if (!this.options.isTrusted(url)) event.preventDefault()
    })
    const track = (): void => this.trackBounds(win)
    win.on('resize', track)
    win.on('move', track)
    win.on('close', (event) => {
      this.captureBounds(win)
      if (info.closeConfirmed) return
      event.preventDefault()
      void this.confirmClose(win, info).then((close) => {
        if (!close) {
          this.quitting = false
          return
        }
        info.closeConfirmed = true
        win.close()
        if (this.quitting) app.quit() // the quit waited for this window; carry it on
      })
    })
    win.on('closed', () => {
      this.info.delete(win)
      this.rebuildMenu()
    })
    const hash = target ? openTargetHash(target).slice(1) : ''
    if (this.options.devUrl) void win.loadURL(`${this.options.devUrl}${hash ? '#' + hash : ''}`)
    else void win.loadFile(this.options.rendererFile, hash ? { hash } : {})
    return win
  }

  /** Whether the window may close: yes, unless its file has unsaved changes and the user cancels. */
  private async confirmClose(win: BrowserWindow, info: WindowInfo): Promise<boolean> {
    const doc = info.doc
    if (!doc) return true
    const status = await this.options.ipc().clientFor(win.webContents).status(doc.docId)
    // Untitled documents are kept by Meshpad as typed, so only a linked file can be "unsaved".
    if (!status.ok || status.value.path === null || status.value.saved) return true
    const { response } = await dialog.showMessageBox(win, unsavedChangesPrompt(status.value.path))
    switch (unsavedChoice(response)) {
      case 'save':
        return this.save(win, false)
      case 'discard':
        return true
      case 'cancel':
        return false
    }
  }

  /** Save (or Save As, or Save of a document with no file yet): true once the file holds the text. */
  private async save(win: BrowserWindow, as: boolean): Promise<boolean> {
    const doc = this.info.get(win)?.doc
    if (!doc) return false
    const client = this.options.ipc().clientFor(win.webContents)
    const status = await client.status(doc.docId)
    const current = status.ok ? status.value.path : null
    let result
    if (as || current === null) {
      const choice = await dialog.showSaveDialog(win, {
        title: as ? 'Save As' : 'Save',
        defaultPath: current ?? join(app.getPath('documents'), suggestedFileName(doc.title)),
        filters: TEXT_FILE_FILTERS,
        // macOS and Windows always ask before replacing a file; on Linux only when told to.
        properties: ['showOverwriteConfirmation', 'createDirectory'],
      })
      if (choice.canceled || !choice.filePath) return false
      // The dialog asked about replacing an existing file, so the API need not refuse it.
      result = await client.saveAs(doc.docId, choice.filePath, { overwrite: true })
    } else {
      result = await client.save(doc.docId)
    }
    if (!result.ok) {
      await dialog.showMessageBox(win, { type: 'error', message: 'Could not save.', detail: result.message })
      return false
    }
    if (result.value.path) this.opened(win.webContents, { ...doc, path: result.value.path })
    return true
  }

  private async chooseFiles(win: BrowserWindow | undefined): Promise<void> {
    const options = {
      properties: ['openFile', 'multiSelections'] as ('openFile' | 'multiSelections')[],
      filters: TEXT_FILE_FILTERS,
    }
    const choice = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options)
    if (!choice.canceled) for (const path of choice.filePaths) this.open({ kind: 'file', path })
  }

  /** File › Share a Folder…: the folder dialog, then the project in a window of its own (or an empty one). */
  private async shareFolder(win: BrowserWindow | undefined): Promise<void> {
    const asker = win ?? this.createWindow(null)
    const dir = await this.pickFolder(asker.webContents, 'share')
    if (!dir) return
    const result = await this.options.ipc().clientFor(asker.webContents).shareFolder(dir)
    if (!result.ok) {
      await dialog.showMessageBox(asker, {
        type: 'error',
        message: 'Could not share the folder.',
        detail: result.message,
      })
      return
    }
    this.open({ kind: 'project', projectId: result.value.projectId })
  }

  private run(command: MenuCommand): void {
    const win = BrowserWindow.getFocusedWindow() ?? undefined
    if (isEditorCommand(command)) {
      if (win) this.options.ipc().send(win.webContents, { type: 'command', command })
      return
    }
    if (command.startsWith('open-recent:')) {
      const entry = this.recent[Number(command.slice('open-recent:'.length))]
      if (entry)
        this.open(
          entry.kind === 'file' ? { kind: 'file', path: entry.path } : { kind: 'doc', docId: entry.docId },
        )
      return
    }
    switch (command) {
      case 'new':
        // Untitled until it has a title or a file (shared/doc-title.ts).
        return this.open({ kind: 'new', title: '' })
      case 'open':
        return void this.chooseFiles(win)
      case 'share-folder':
        return void this.shareFolder(win)
      case 'save':
      case 'save-as':
        if (win) void this.save(win, command === 'save-as')
        return
      case 'close':
        return win?.close()
      case 'clear-recent':
        this.recent = []
        app.clearRecentDocuments()
        void this.options.recentFile.write([]).catch((e: Error) => this.options.log(e.message))
        return this.rebuildMenu()
    }
  }

  private remember(entry: RecentEntry): void {
    this.recent = withRecent(this.recent, entry)
    if (entry.kind === 'file') app.addRecentDocument(entry.path)
    void this.options.recentFile.write(this.recent).catch((e: Error) => this.options.log(e.message))
    this.rebuildMenu()
  }

  private rebuildMenu(): void {
    const template = menuTemplate({
      platform: process.platform,
      recent: this.recent,
      hasWindow: BrowserWindow.getFocusedWindow() !== null || this.info.size > 0,
      devTools: !app.isPackaged,
    })
    Menu.setApplicationMenu(Menu.buildFromTemplate(template.map((s) => this.toElectron(s))))
  }

  private toElectron(spec: MenuSpec): MenuItemConstructorOptions {
    const { command, submenu, ...rest } = spec
    return {
      ...rest,
      ...(submenu ? { submenu: submenu.map((s) => this.toElectron(s)) } : {}),
      ...(command ? { click: () => this.run(command) } : {}),
    }
  }

  private captureBounds(win: BrowserWindow): void {
    if (win.isDestroyed() || win.isMinimized()) return
    const b = win.isMaximized() ? win.getNormalBounds() : win.getBounds()
    this.state = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() }
    void this.options.windowState.write(this.state).catch((e: Error) => this.options.log(e.message))
  }

  /** Moves and resizes come in bursts: write the state once the window has settled. */
  private trackBounds(win: BrowserWindow): void {
    if (this.saveStateTimer) clearTimeout(this.saveStateTimer)
    this.saveStateTimer = setTimeout(() => this.captureBounds(win), 500)
  }
}
