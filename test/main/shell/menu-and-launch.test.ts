import { describe, expect, it } from 'vitest'
import { parseLaunchArgs } from '../../../src/main/shell/launch-args'
import { suggestedFileName, unsavedChangesPrompt, unsavedChoice } from '../../../src/main/shell/dialogs'
import { isEditorCommand, menuTemplate, type MenuSpec } from '../../../src/main/shell/menu-template'

/** Every item of a template, depth first. */
const items = (specs: readonly MenuSpec[]): MenuSpec[] =>
  specs.flatMap((s) => [s, ...(s.submenu ? items(s.submenu) : [])])
const byLabel = (specs: readonly MenuSpec[], label: string): MenuSpec | undefined =>
  items(specs).find((s) => s.label === label)

describe('application menu', () => {
  const options = { recent: [], hasWindow: true, devTools: false }

  it.each(['linux', 'win32', 'darwin'] as const)('has the usual items and accelerators on %s', (platform) => {
    const menu = menuTemplate({ ...options, platform })
    const expected: [string, string | undefined, string][] = [
      ['New', 'CmdOrCtrl+N', 'new'],
      ['Open…', 'CmdOrCtrl+O', 'open'],
      ['Share a Folder…', undefined, 'share-folder'],
      ['Open a Project…', undefined, 'open-project'],
      ['Save', 'CmdOrCtrl+S', 'save'],
      ['Save As…', 'Shift+CmdOrCtrl+S', 'save-as'],
      [platform === 'darwin' ? 'Close Window' : 'Close', 'CmdOrCtrl+W', 'close'],
      ['Undo', 'CmdOrCtrl+Z', 'undo'],
      ['Redo', platform === 'darwin' ? 'Shift+Cmd+Z' : 'Ctrl+Y', 'redo'],
      ['Find…', 'CmdOrCtrl+F', 'find'],
      ['Share…', undefined, 'share'],
    ]
    for (const [label, accelerator, command] of expected) {
      expect(byLabel(menu, label), label).toMatchObject({ command, ...(accelerator ? { accelerator } : {}) })
    }
    expect(byLabel(menu, 'Open Recent')?.submenu).toBeDefined()
    // No two items claim the same shortcut.
    const accelerators = items(menu).flatMap((s) => (s.accelerator ? [s.accelerator] : []))
    expect(new Set(accelerators).size).toBe(accelerators.length)
    // Clipboard items are the OS's own (they work in CodeMirror's contenteditable).
    for (const role of ['cut', 'copy', 'paste', 'selectAll']) {
      expect(items(menu).some((s) => s.role === role)).toBe(true)
    }
    expect(items(menu).filter((s) => s.role === 'quit')).toHaveLength(1)
    expect(menu[0]!.label).toBe(platform === 'darwin' ? 'Meshpad' : '&File')
  })

  it('lists recent documents and can clear them; empty says so', () => {
    const empty = menuTemplate({ ...options, platform: 'linux' })
    expect(byLabel(empty, 'Open Recent')?.submenu).toEqual([{ label: 'No Recent Documents', enabled: false }])
    const menu = menuTemplate({
      ...options,
      platform: 'linux',
      recent: [
        { kind: 'file', path: '/home/ana/plan.md' },
        { kind: 'doc', docId: 'b'.repeat(32), title: 'Standup' },
      ],
    })
    const recent = byLabel(menu, 'Open Recent')!.submenu!
    expect(recent[0]).toEqual({ label: '/home/ana/plan.md', command: 'open-recent:0' })
    expect(recent[1]).toEqual({ label: 'Standup (Meshpad document)', command: 'open-recent:1' })
    expect(recent.at(-1)).toEqual({ label: 'Clear Recently Opened', command: 'clear-recent' })
  })

  it('disables document commands with no window and hides developer tools in packaged builds', () => {
    const menu = menuTemplate({ ...options, platform: 'linux', hasWindow: false })
    for (const label of ['Save', 'Save As…', 'Close', 'Undo', 'Redo', 'Find…', 'Share…']) {
      expect(byLabel(menu, label)?.enabled, label).toBe(false)
    }
    expect(byLabel(menu, 'New')?.enabled).toBeUndefined()
    expect(items(menu).some((s) => s.role === 'toggleDevTools')).toBe(false)
    expect(
      items(menuTemplate({ ...options, platform: 'linux', devTools: true })).some(
        (s) => s.role === 'toggleDevTools',
      ),
    ).toBe(true)
  })

  it('sends editor commands to the renderer and runs file commands in the shell', () => {
    expect(['undo', 'redo', 'find', 'share'].every(isEditorCommand)).toBe(true)
    expect(['save', 'open', 'close', 'new', 'open-recent:0'].some(isEditorCommand)).toBe(false)
  })
})

describe('launch arguments', () => {
  it('takes files (relative to the launch directory) and meshpad:// links, skipping switches', () => {
    const argv = [
      '/opt/Meshpad/meshpad',
      '--no-sandbox',
      'notes.md',
      '/etc/hosts',
      'meshpad://join/abc',
      '--inspect=9229',
    ]
    expect(parseLaunchArgs(argv, '/home/ana/work', 0)).toEqual({
      files: ['/home/ana/work/notes.md', '/etc/hosts'],
      links: ['meshpad://join/abc'],
    })
  })

  it('skips the app path of an unpackaged launch (`electron . file`)', () => {
    expect(parseLaunchArgs(['/usr/bin/electron', '.', 'a.txt'], '/w', 1).files).toEqual(['/w/a.txt'])
    expect(parseLaunchArgs(['/usr/bin/electron', '.'], '/w', 1)).toEqual({ files: [], links: [] })
  })

  it('opens a file named like a switch after `--`', () => {
    expect(parseLaunchArgs(['meshpad', '--', '--weird.md'], '/w', 0).files).toEqual(['/w/--weird.md'])
  })
})

describe('dialogs', () => {
  it('asks Save / Don’t Save / Cancel, naming the file, and maps a dismissed box to Cancel', () => {
    const prompt = unsavedChangesPrompt('/home/ana/plan.md')
    expect(prompt.message).toContain('“plan.md”')
    expect(prompt.buttons).toEqual(['Save', "Don't Save", 'Cancel'])
    expect(prompt.cancelId).toBe(2)
    expect([0, 1, 2, 7, -1].map(unsavedChoice)).toEqual(['save', 'discard', 'cancel', 'cancel', 'cancel'])
  })

  it('suggests a safe file name from a document title', () => {
    expect(suggestedFileName('Standup notes')).toBe('Standup notes.txt')
    expect(suggestedFileName('plan.md')).toBe('plan.md')
    expect(suggestedFileName('a/b:c')).toBe('a b c.txt')
    expect(suggestedFileName('   ')).toBe('Untitled.txt')
  })
})
