/**
 * The shell's dialogs as data (options for Electron's dialog module), so that their wording and
 * buttons are checked by plain-Node tests and read the same on every platform.
 */
import { basename } from 'node:path'

export type UnsavedChoice = 'save' | 'discard' | 'cancel'
const UNSAVED_CHOICES: readonly UnsavedChoice[] = ['save', 'discard', 'cancel']

/** The prompt when a window with unsaved changes to its file closes (message box options). */
export function unsavedChangesPrompt(path: string): {
  type: 'warning'
  buttons: string[]
  defaultId: number
  cancelId: number
  noLink: true
  message: string
  detail: string
} {
  return {
    type: 'warning',
    buttons: ['Save', "Don't Save", 'Cancel'],
    defaultId: 0,
    cancelId: 2,
    noLink: true,
    message: `Do you want to save the changes you made to “${basename(path)}”?`,
    detail:
      "If you don't save, the file keeps the text it had when last saved. " +
      'Your edits stay in the document in Meshpad, with its history.',
  }
}

/** The button clicked, as a choice; anything unexpected counts as Cancel, which loses nothing. */
export const unsavedChoice = (response: number): UnsavedChoice => UNSAVED_CHOICES[response] ?? 'cancel'

/** File-type filters for Open and Save As: text first, since that is what Meshpad edits. */
export const TEXT_FILE_FILTERS = [
  {
    name: 'Text and code',
    extensions: ['txt', 'md', 'markdown', 'json', 'ts', 'tsx', 'js', 'jsx', 'css', 'html', 'py', 'rs', 'go'],
  },
  { name: 'All files', extensions: ['*'] },
]

/** The name Save As suggests for a document with no file yet. */
export function suggestedFileName(title: string): string {
  const clean = title.replace(/[\\/:*?"<>|\p{Cc}]/gu, ' ').trim()
  if (!clean) return 'Untitled.txt'
  return /\.[A-Za-z0-9]{1,8}$/.test(clean) ? clean : `${clean}.txt`
}

/**
 * The folder dialog's options for sharing a folder or joining a project into one (Electron's
 * showOpenDialog): a folder only, and one can be made there for a join.
 */
export function folderPickerOptions(purpose: 'share' | 'join'): {
  title: string
  buttonLabel: string
  properties: ('openDirectory' | 'createDirectory')[]
} {
  return purpose === 'share'
    ? { title: 'Share a folder', buttonLabel: 'Share', properties: ['openDirectory'] }
    : {
        title: 'Choose the folder to keep the project in',
        buttonLabel: 'Keep it here',
        properties: ['openDirectory', 'createDirectory'],
      }
}
