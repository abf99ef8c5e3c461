/**
 * names-fold.ts on a real folder. These machines' file systems (ext4, tmpfs) keep case apart, so the
 * probe must say so and leave nothing behind; a folder it cannot write to is taken as not folding.
 * (A folding file system cannot be mounted here: the kernel has no CONFIG_UNICODE and no vfat. The
 * folding itself is tested through ProjectFolder's `namesFold`.)
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { namesFoldIn } from '../../../src/main/folder/names-fold'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const folder = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'meshpad-fold-'))
  dirs.push(d)
  return d
}

it('finds that this file system keeps case apart, and leaves no probe behind', async () => {
  const dir = folder()
  expect(await namesFoldIn(dir)).toBe(false)
  expect(readdirSync(dir)).toEqual([])
})

it('takes a folder it cannot write to as not folding, and does not throw', async () => {
  // A folder that is not there: the probe cannot be made. (A read-only mode would not stop root,
  // which CI runs as.)
  expect(await namesFoldIn(join(folder(), 'missing'))).toBe(false)
})
