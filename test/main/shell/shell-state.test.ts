import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { JsonFile } from '../../../src/main/shell/json-file'
import {
  MAX_RECENT,
  recentFile,
  recentLabel,
  validRecentList,
  withoutRecent,
  withRecent,
  type RecentEntry,
} from '../../../src/main/shell/recent-documents'
import {
  cascade,
  DEFAULT_WINDOW_STATE,
  fitToDisplays,
  MIN_WINDOW_SIZE,
  validWindowState,
  windowStateFile,
} from '../../../src/main/shell/window-state'

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'meshpad-shell-'))
const laptop = { x: 0, y: 0, width: 1440, height: 875 }
const monitorRight = { x: 1440, y: 0, width: 2560, height: 1415 }

describe('window state', () => {
  it('round-trips through its file and survives a restart', async () => {
    const dir = tempDir()
    const state = { x: 1600, y: 120, width: 1300, height: 900, maximized: true }
    await windowStateFile(dir).write(state)
    expect(await windowStateFile(dir).read()).toEqual(state)
  })

  it('falls back to the default for a missing, corrupt or wrong-shaped file, and says so', async () => {
    const dir = tempDir()
    const file = windowStateFile(dir)
    expect(await file.read()).toEqual(DEFAULT_WINDOW_STATE)
    const heard: string[] = []
    writeFileSync(file.path, '{"width": 900, "hei')
    expect(await file.read((m) => heard.push(m))).toEqual(DEFAULT_WINDOW_STATE)
    writeFileSync(file.path, '{"width": "wide", "height": 700}')
    expect(await file.read((m) => heard.push(m))).toEqual(DEFAULT_WINDOW_STATE)
    expect(heard).toHaveLength(2)
    expect(heard[0]).toContain('not valid JSON')
  })

  it('drops a position that is on no display (the monitor was unplugged)', () => {
    const remembered = { x: 2000, y: 100, width: 1200, height: 800, maximized: false }
    expect(fitToDisplays(remembered, [laptop, monitorRight])).toEqual(remembered)
    const fitted = fitToDisplays(remembered, [laptop])
    expect(fitted.x).toBeUndefined()
    expect(fitted.y).toBeUndefined()
    expect(fitted.width).toBe(1200)
  })

  it('keeps a window that only partly overhangs a display', () => {
    const overhang = { x: -300, y: 40, width: 1000, height: 700, maximized: false }
    expect(fitToDisplays(overhang, [laptop])).toMatchObject({ x: -300, y: 40 })
    const titleBarAbove = { x: 100, y: -500, width: 1000, height: 700, maximized: false }
    expect(fitToDisplays(titleBarAbove, [laptop]).y).toBeUndefined()
  })

  it('shrinks a window larger than any display and grows one below the minimum', () => {
    const huge = fitToDisplays({ width: 5000, height: 3000, maximized: false }, [laptop])
    expect(huge).toMatchObject({ width: laptop.width, height: laptop.height })
    const tiny = fitToDisplays({ width: 10, height: 10, maximized: false }, [laptop])
    expect(tiny).toMatchObject(MIN_WINDOW_SIZE)
  })

  it('cascades a new window off the last one', () => {
    expect(cascade({ x: 10, y: 20, width: 800, height: 600, maximized: false })).toMatchObject({
      x: 38,
      y: 48,
    })
    expect(cascade(DEFAULT_WINDOW_STATE)).toEqual(DEFAULT_WINDOW_STATE)
  })

  it('rounds fractional bounds and ignores a half-given position', () => {
    expect(validWindowState({ x: 10.6, y: 3.2, width: 800.4, height: 600.5, maximized: 1 })).toEqual({
      x: 11,
      y: 3,
      width: 800,
      height: 601,
      maximized: false,
    })
    expect(validWindowState({ x: 10, width: 800, height: 600 })).toEqual({
      width: 800,
      height: 600,
      maximized: false,
    })
  })
})

describe('recent documents', () => {
  const file = (path: string): RecentEntry => ({ kind: 'file', path })
  const doc = (n: number): RecentEntry => ({
    kind: 'doc',
    docId: n.toString(16).padStart(32, '0'),
    title: `Doc ${n}`,
  })

  it('puts the latest first, without duplicates, at most MAX_RECENT long', () => {
    let list: RecentEntry[] = []
    for (let i = 0; i < MAX_RECENT + 5; i++) list = withRecent(list, file(`/notes/${i}.md`))
    list = withRecent(list, file('/notes/14.md'))
    expect(list).toHaveLength(MAX_RECENT)
    expect(list[0]).toEqual(file('/notes/14.md'))
    expect(list.filter((e) => e.kind === 'file' && e.path === '/notes/14.md')).toHaveLength(1)
    expect(list.at(-1)).toEqual(file('/notes/5.md'))
    expect(withoutRecent(list, file('/notes/14.md'))).toHaveLength(MAX_RECENT - 1)
  })

  it('lists Meshpad-only documents by title and files by path', () => {
    expect(recentLabel(file('/home/ana/plan.md'))).toBe('/home/ana/plan.md')
    expect(recentLabel(doc(7))).toBe('Doc 7 (Meshpad document)')
    expect(recentLabel({ kind: 'doc', docId: 'a'.repeat(32), title: '' })).toBe('Untitled (Meshpad document)')
  })

  it('keeps the good entries of a partly damaged file', async () => {
    const dir = tempDir()
    const store = recentFile(dir)
    writeFileSync(
      store.path,
      JSON.stringify([file('/a.md'), { kind: 'doc', docId: 'nope' }, 42, { kind: 'file', path: '' }, doc(3)]),
    )
    expect(await store.read()).toEqual([file('/a.md'), doc(3)])
    expect(validRecentList({ not: 'a list' })).toBeNull()
  })

  it('persists in call order and reports a write that cannot happen', async () => {
    const dir = tempDir()
    const store = recentFile(dir)
    const writes = [1, 2, 3].map((n) => store.write([doc(n)]))
    await Promise.all(writes)
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual([doc(3)])
    if (process.getuid?.() === 0) return // root ignores permissions: the refusal below cannot happen
    chmodSync(dir, 0o500)
    try {
      await expect(store.write([doc(4)])).rejects.toThrow(/save settings to/)
      expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual([doc(3)])
    } finally {
      chmodSync(dir, 0o700)
    }
  })

  it('gives the fallback for a value its validator rejects, with a note', async () => {
    const dir = tempDir()
    const store = new JsonFile(dir, 'x.json', (raw) => (typeof raw === 'number' ? raw : null), 0)
    writeFileSync(store.path, '5')
    expect(await store.read()).toBe(5)
    writeFileSync(store.path, '"five"')
    const heard: string[] = []
    expect(await store.read((m) => heard.push(m))).toBe(0)
    expect(heard[0]).toContain('not what Meshpad wrote')
  })
})
