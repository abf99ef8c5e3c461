import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const REPO = resolve(__dirname, '../../..')

/**
 * bin/meshpad.cjs in a checkout of its own: a built CLI and a source CLI that each only say which
 * they are, with the repository's node_modules (tsx) beside them.
 */
let root: string
const built = (): string => join(root, 'out', 'main', 'cli.js')
const source = (): string => join(root, 'src', 'main', 'cli', 'main.ts')
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'meshpad-launcher-'))
  mkdirSync(join(root, 'bin'))
  for (const file of ['meshpad.cjs', 'helper-threads.cjs'])
    copyFileSync(join(REPO, 'bin', file), join(root, 'bin', file))
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'))
  mkdirSync(join(root, 'out', 'main'), { recursive: true })
  writeFileSync(built(), "process.stdout.write('built')\n")
  mkdirSync(join(root, 'src', 'main', 'cli'), { recursive: true })
  writeFileSync(source(), "const from: string = 'sources'\nprocess.stdout.write(from)\n")
  // The build is newer than every source, as `npm run build` leaves it.
  utimesSync(source(), new Date(1_000_000), new Date(1_000_000))
  utimesSync(built(), new Date(2_000_000), new Date(2_000_000))
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

const run = (env: Record<string, string> = {}): string => {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'meshpad.cjs')], {
    env: { ...process.env, MESHPAD_FROM_SOURCE: '', ...env },
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`meshpad.cjs exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

describe('bin/meshpad.cjs', () => {
  it('runs the build while no source is newer, the sources once one is, or when asked to', () => {
    expect(run()).toBe('built')
    expect(run({ MESHPAD_FROM_SOURCE: '1' })).toBe('sources')
    utimesSync(source(), new Date(3_000_000), new Date(3_000_000)) // edited after the build
    expect(run()).toBe('sources')
  })

  it('runs the sources with no build, and the build with no sources', () => {
    rmSync(built())
    expect(run()).toBe('sources')
    writeFileSync(built(), "process.stdout.write('built')\n")
    rmSync(join(root, 'src'), { recursive: true })
    expect(run()).toBe('built')
  })
})
