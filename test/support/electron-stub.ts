/**
 * A recording stand-in for the `electron` module, for loading the *built* shell (out/main/index.js,
 * out/preload/index.js) under plain Node: Electron cannot run on these machines (testing.md), but what
 * the shell asks of Electron — window preferences, IPC handlers, navigation guards, menus, dialogs —
 * can be recorded and its handlers driven. Only the electron API the shell uses is here.
 */
import { EventEmitter } from 'node:events'
import Module from 'node:module'

type Listener = (...args: unknown[]) => unknown

export class FakeWebContents extends EventEmitter {
  destroyed = false
  readonly sent: { channel: string; payload: unknown }[] = []
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload })
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  /** Emits a cancellable Electron event; true if a handler called preventDefault. */
  prevented(name: string, ...args: unknown[]): boolean {
    let prevented = false
    this.emit(name, { preventDefault: () => (prevented = true) }, ...args)
    return prevented
  }
}

export class FakeWindow extends EventEmitter {
  static all: FakeWindow[] = []
  static focused: FakeWindow | null = null
  readonly webContents = new FakeWebContents()
  loaded: { file?: string; url?: string; hash?: string } = {}
  title = ''
  destroyed = false
  bounds: { x: number; y: number; width: number; height: number }
  constructor(readonly options: Record<string, unknown>) {
    super()
    this.bounds = {
      x: (options['x'] as number | undefined) ?? 100,
      y: (options['y'] as number | undefined) ?? 100,
      width: options['width'] as number,
      height: options['height'] as number,
    }
    FakeWindow.all.push(this)
    FakeWindow.focused = this
  }
  static getAllWindows(): FakeWindow[] {
    return FakeWindow.all.filter((w) => !w.destroyed)
  }
  static getFocusedWindow(): FakeWindow | null {
    return FakeWindow.focused && !FakeWindow.focused.destroyed ? FakeWindow.focused : null
  }
  static fromWebContents(wc: FakeWebContents): FakeWindow | null {
    return FakeWindow.all.find((w) => w.webContents === wc) ?? null
  }
  loadFile(file: string, options?: { hash?: string }): Promise<void> {
    this.loaded = { file, ...(options?.hash ? { hash: options.hash } : {}) }
    return Promise.resolve()
  }
  loadURL(url: string): Promise<void> {
    this.loaded = { url }
    return Promise.resolve()
  }
  /** Closing as Electron does: 'close' (cancellable), then 'closed' unless prevented. */
  close(): void {
    if (this.destroyed) return
    let prevented = false
    this.emit('close', { preventDefault: () => (prevented = true) })
    if (prevented) return
    this.destroyed = true
    this.webContents.destroyed = true
    this.webContents.emit('destroyed')
    this.emit('closed')
  }
  show(): void {
    this.emit('stub-call', 'show')
  }
  focus(): void {
    FakeWindow.focused = this
  }
  restore(): void {
    this.emit('stub-call', 'restore')
  }
  maximize(): void {
    this.emit('stub-call', 'maximize')
  }
  setTitle(title: string): void {
    this.title = title
  }
  setRepresentedFilename(): void {
    this.emit('stub-call', 'setRepresentedFilename')
  }
  getBounds(): { x: number; y: number; width: number; height: number } {
    return this.bounds
  }
  getNormalBounds(): { x: number; y: number; width: number; height: number } {
    return this.bounds
  }
  isMaximized(): boolean {
    return false
  }
  isMinimized(): boolean {
    return false
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
}

export interface MenuItem {
  label?: string
  accelerator?: string
  role?: string
  enabled?: boolean
  click?: () => void
  submenu?: MenuItem[]
}

/** Everything the shell did through the stub, and the knobs a test turns (dialog answers). */
export class ElectronStub {
  readonly app = Object.assign(new EventEmitter(), {
    isPackaged: true,
    requestSingleInstanceLock: () => true,
    quit: () => undefined,
    getVersion: () => '0.0.0-test',
    setAsDefaultProtocolClient: (): boolean => true,
    recentDocuments: [] as string[],
    addRecentDocument(path: string): void {
      this.recentDocuments.push(path)
    },
    clearRecentDocuments(): void {
      this.recentDocuments = []
    },
    getPath: (name: string): string => this.paths[name] ?? '/nonexistent',
    whenReady: (): Promise<void> => this.ready,
  })
  readonly paths: Record<string, string> = {}
  readonly handlers = new Map<string, Listener>()
  readonly ipcMain = {
    handle: (channel: string, fn: Listener) => this.handlers.set(channel, fn),
    removeHandler: (channel: string) => this.handlers.delete(channel),
  }
  headerFilter: Listener | null = null
  permissionHandler: Listener | null = null
  readonly session = {
    defaultSession: {
      webRequest: { onHeadersReceived: (fn: Listener) => (this.headerFilter = fn) },
      setPermissionRequestHandler: (fn: Listener) => (this.permissionHandler = fn),
    },
  }
  menu: MenuItem[] = []
  readonly Menu = {
    buildFromTemplate: (template: MenuItem[]) => template,
    setApplicationMenu: (menu: MenuItem[]) => (this.menu = menu),
  }
  readonly screen = { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] }
  readonly opened: string[] = []
  readonly shell = { openExternal: async (url: string) => void this.opened.push(url) }
  /** Answers for the next dialogs, in order; each call records what was asked. */
  readonly messageBoxAnswers: number[] = []
  readonly messageBoxes: Record<string, unknown>[] = []
  saveDialogAnswer: string | null = null
  readonly saveDialogs: Record<string, unknown>[] = []
  openDialogAnswer: string[] = []
  readonly openDialogs: Record<string, unknown>[] = []
  readonly dialog = {
    showMessageBox: async (_win: unknown, options: Record<string, unknown>) => {
      this.messageBoxes.push(options)
      return { response: this.messageBoxAnswers.shift() ?? 2 }
    },
    showSaveDialog: async (_win: unknown, options: Record<string, unknown>) => {
      this.saveDialogs.push(options)
      return this.saveDialogAnswer ? { canceled: false, filePath: this.saveDialogAnswer } : { canceled: true }
    },
    showOpenDialog: async (...args: unknown[]) => {
      this.openDialogs.push(args.at(-1) as Record<string, unknown>)
      return { canceled: this.openDialogAnswer.length === 0, filePaths: this.openDialogAnswer }
    },
  }
  readonly BrowserWindow = FakeWindow
  // The preload's side.
  exposed: Record<string, unknown> | null = null
  exposedName = ''
  readonly contextBridge = {
    exposeInMainWorld: (name: string, api: Record<string, unknown>) => {
      this.exposedName = name
      this.exposed = api
    },
  }
  readonly invoked: unknown[][] = []
  readonly ipcRenderer = Object.assign(new EventEmitter(), {
    invoke: async (...args: unknown[]) => void this.invoked.push(args),
  })

  private readonly ready: Promise<void>
  /** Resolves app.whenReady(): the shell starts its node and opens its first window. */
  readonly fireReady: () => void

  constructor() {
    let fire!: () => void
    this.ready = new Promise<void>((resolve) => (fire = resolve))
    this.fireReady = fire
    FakeWindow.all = []
    FakeWindow.focused = null
  }

  /** Menu item by label, anywhere in the application menu. */
  menuItem(label: string): MenuItem | undefined {
    const walk = (items: MenuItem[]): MenuItem | undefined => {
      for (const item of items) {
        if (item.label === label) return item
        const inner = item.submenu ? walk(item.submenu) : undefined
        if (inner) return inner
      }
      return undefined
    }
    return walk(this.menu)
  }
}

/**
 * Loads a built CommonJS bundle with `require('electron')` answered by `stub`. Returns its exports.
 * Node's module cache is keyed by resolved file name, so a virtual name in the cache is what the
 * bundle's require finds.
 */
export function loadWithElectronStub(bundle: string, stub: ElectronStub): unknown {
  const virtual = '/virtual/electron-stub.js'
  const internals = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string
    _cache: Record<string, unknown>
  }
  const original = internals._resolveFilename
  internals._resolveFilename = (request: string, ...rest: unknown[]) =>
    request === 'electron' ? virtual : original(request, ...rest)
  const fake = new Module(virtual)
  fake.exports = stub
  fake.loaded = true
  internals._cache[virtual] = fake
  try {
    return Module.createRequire(bundle)(bundle)
  } finally {
    internals._resolveFilename = original
  }
}
