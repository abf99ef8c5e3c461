import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileWatcher } from '../../../src/main/storage/file-watcher'

let dir: string
let watchers: FileWatcher[]
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-watch-'))
  watchers = []
})
afterEach(async () => {
  for (const w of watchers) w.close()
  await rm(dir, { recursive: true, force: true })
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const watchCount = (): number => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length

function start(file: string): { watcher: FileWatcher; changes: () => number } {
  let n = 0
  const watcher = new FileWatcher(file, {
    debounceMs: 200,
    onChange: () => n++,
    onError: (e) => expect.fail(e.message),
  })
  watchers.push(watcher)
  return { watcher, changes: () => n }
}

describe('FileWatcher', () => {
  it('reports a burst of writes once, after the debounce', async () => {
    const file = join(dir, 'a.txt')
    await writeFile(file, '0')
    const { changes } = start(file)
    for (let i = 1; i <= 5; i++) {
      await writeFile(file, String(i))
      await sleep(10)
    }
    expect(changes()).toBe(0)
    await sleep(600)
    expect(changes()).toBe(1)
  })

  it('sees a file replaced by a rename, as editors and formatters save', async () => {
    const file = join(dir, 'a.txt')
    await writeFile(file, 'old')
    const { changes } = start(file)
    await writeFile(join(dir, '.a.txt.swp'), 'new')
    await rename(join(dir, '.a.txt.swp'), file)
    await sleep(600)
    expect(changes()).toBe(1)
    // Still watching after the inode changed.
    await writeFile(file, 'newer')
    await sleep(600)
    expect(changes()).toBe(2)
  })

  it('ignores other files in the folder', async () => {
    const file = join(dir, 'a.txt')
    await writeFile(file, 'x')
    const { changes } = start(file)
    await writeFile(join(dir, 'b.txt'), 'other')
    await sleep(600)
    expect(changes()).toBe(0)
  })

  it('stops for good on close, including a pending notification, and releases its handle', async () => {
    const before = watchCount()
    const file = join(dir, 'a.txt')
    await writeFile(file, 'x')
    const { watcher, changes } = start(file)
    expect(watchCount()).toBe(before + 1)
    await writeFile(file, 'pending')
    await sleep(5)
    watcher.close()
    watcher.close()
    await writeFile(file, 'after close')
    await sleep(600)
    expect(changes()).toBe(0)
    expect(watcher.closed).toBe(true)
    expect(watchCount()).toBe(before)
  })

  it('throws a typed error when the folder does not exist', () => {
    expect(
      () =>
        new FileWatcher(join(dir, 'missing', 'a.txt'), {
          onChange: () => undefined,
          onError: () => undefined,
        }),
    ).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
  })
})
