/**
 * The application menu as data: labels, accelerators and either an Electron role (clipboard, window
 * and app items the OS implements) or a Meshpad command that the shell runs. Plain data so that a
 * plain-Node test can check every item and accelerator; src/main/hosts/electron-windows.ts turns it
 * into an Electron Menu.
 *
 * Undo, Redo and Find are commands, not roles: the roles would call the page's execCommand, which
 * CodeMirror does not use; the commands run CodeMirror's own history and search in the focused window.
 */
import { EDITOR_COMMANDS, type EditorCommand } from '../../shared/api'
import { recentLabel, type RecentEntry } from './recent-documents'

export type MenuCommand =
  | 'new'
  | 'open'
  | 'share-folder'
  | 'save'
  | 'save-as'
  | 'close'
  | 'undo'
  | 'redo'
  | 'find'
  | 'share'
  | 'open-project'
  | 'clear-recent'
  | `open-recent:${number}`

/** The renderer runs these (they act on its editor, or open its own dialogs); the shell runs the rest. */
export const isEditorCommand = (command: string): command is EditorCommand =>
  (EDITOR_COMMANDS as readonly string[]).includes(command)

type Role =
  | 'about'
  | 'services'
  | 'hide'
  | 'hideOthers'
  | 'unhide'
  | 'quit'
  | 'cut'
  | 'copy'
  | 'paste'
  | 'selectAll'
  | 'togglefullscreen'
  | 'resetZoom'
  | 'zoomIn'
  | 'zoomOut'
  | 'minimize'
  | 'zoom'
  | 'front'
  | 'windowMenu'
  | 'toggleDevTools'

export interface MenuSpec {
  readonly label?: string
  readonly accelerator?: string
  readonly role?: Role
  readonly command?: MenuCommand
  readonly type?: 'separator'
  readonly enabled?: boolean
  readonly submenu?: readonly MenuSpec[]
}

export interface MenuOptions {
  readonly platform: NodeJS.Platform
  readonly recent: readonly RecentEntry[]
  /** Whether a document window is focused (Save, Close… need one). */
  readonly hasWindow: boolean
  /** Developer tools only in development builds. */
  readonly devTools: boolean
}

const separator: MenuSpec = { type: 'separator' }

export function menuTemplate(options: MenuOptions): MenuSpec[] {
  const mac = options.platform === 'darwin'
  const doc = options.hasWindow
  const recent: MenuSpec[] =
    options.recent.length === 0
      ? [{ label: 'No Recent Documents', enabled: false }]
      : [
          ...options.recent.map((entry, i): MenuSpec => ({
            label: recentLabel(entry),
            command: `open-recent:${i}`,
          })),
          separator,
          { label: 'Clear Recently Opened', command: 'clear-recent' },
        ]
  const file: MenuSpec = {
    label: '&File',
    submenu: [
      { label: 'New', accelerator: 'CmdOrCtrl+N', command: 'new' },
      { label: 'Open…', accelerator: 'CmdOrCtrl+O', command: 'open' },
      { label: 'Open Recent', submenu: recent },
      { label: 'Share a Folder…', command: 'share-folder' },
      // Joins a project by invite into a folder: the window's own dialog (the invite is pasted there).
      { label: 'Open a Project…', command: 'open-project', enabled: doc },
      separator,
      { label: 'Save', accelerator: 'CmdOrCtrl+S', command: 'save', enabled: doc },
      { label: 'Save As…', accelerator: 'Shift+CmdOrCtrl+S', command: 'save-as', enabled: doc },
      separator,
      { label: 'Share…', command: 'share', enabled: doc },
      separator,
      { label: mac ? 'Close Window' : 'Close', accelerator: 'CmdOrCtrl+W', command: 'close', enabled: doc },
      ...(mac ? [] : [separator, { label: 'Quit', accelerator: 'Ctrl+Q', role: 'quit' } as MenuSpec]),
    ],
  }
  const edit: MenuSpec = {
    label: '&Edit',
    submenu: [
      { label: 'Undo', accelerator: 'CmdOrCtrl+Z', command: 'undo', enabled: doc },
      // The platform's usual Redo; CodeMirror's keymap also takes the other one.
      { label: 'Redo', accelerator: mac ? 'Shift+Cmd+Z' : 'Ctrl+Y', command: 'redo', enabled: doc },
      separator,
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'selectAll' },
      separator,
      { label: 'Find…', accelerator: 'CmdOrCtrl+F', command: 'find', enabled: doc },
    ],
  }
  const view: MenuSpec = {
    label: '&View',
    submenu: [
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      separator,
      { role: 'togglefullscreen' },
      ...(options.devTools ? [separator, { role: 'toggleDevTools' } as MenuSpec] : []),
    ],
  }
  const window: MenuSpec = mac
    ? { role: 'windowMenu' }
    : { label: '&Window', submenu: [{ role: 'minimize' }] }
  const app: MenuSpec = {
    label: 'Meshpad',
    submenu: [
      { role: 'about' },
      separator,
      { role: 'services' },
      separator,
      { role: 'hide' },
      { role: 'hideOthers' },
      { role: 'unhide' },
      separator,
      { role: 'quit' },
    ],
  }
  return mac ? [app, file, edit, view, window] : [file, edit, view, window]
}
