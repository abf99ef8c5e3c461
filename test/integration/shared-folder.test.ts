/**
 * Issue 15's proof, headless: three `meshpad peer --folder` processes over real TCP + Noise, each
 * keeping a real folder. One shares a git checkout, two join it with invites into empty folders.
 * Then, at once: a rename on disk, a document edit, two files created at one path on two machines, a
 * deletion, an edit by another program; one peer works offline while the others rename the folder it
 * adds a file to and edit a file it edits too; a `git checkout` of another branch in one folder mid-
 * session; one peer stopped while the others edit a file it then edits on disk, and started again.
 * At the end the three folders are byte-identical, and every text anyone wrote is there.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, renameSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { scanFolder } from '../../src/main/folder/scan-folder'
import { CliPeer, killAllPeers } from './cli-peer'
import { sleep } from './util'

afterEach(async () => {
  await killAllPeers()
})

/** Every shared path of a folder, with its bytes (base64): what "byte-identical" compares. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const scan = await scanFolder(dir)
  const out: Record<string, string> = {}
  for (const f of scan.folders) out[`${f}/`] = ''
  for (const f of scan.files) out[f.path] = readFileSync(join(dir, f.path)).toString('base64')
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** Waits until every peer's folder is the same, byte for byte; returns it as text. */
async function identical(peers: readonly CliPeer[], timeoutMs = 30_000): Promise<Record<string, string>> {
  const start = Date.now()
  let snaps: Record<string, string>[] = []
  for (;;) {
    // A peer may be writing as its folder is read (a file renamed between the scan and the read).
    const taken = await Promise.all(peers.map((p) => snapshot(p.tree).catch(() => null)))
    if (taken.some((t) => t === null)) {
      await sleep(50)
      continue
    }
    snaps = taken as Record<string, string>[]
    const first = JSON.stringify(snaps[0])
    if (snaps.every((s) => JSON.stringify(s) === first)) {
      return Object.fromEntries(
        Object.entries(snaps[0]!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      )
    }
    if (Date.now() - start > timeoutMs) {
      const text = (v: string): string => Buffer.from(v, 'base64').toString()
      const described = peers
        .map(
          (p, i) => `${p.name}: ${JSON.stringify(Object.entries(snaps[i]!).map(([k, v]) => [k, text(v)]))}`,
        )
        .join('\n')
      throw new Error(
        `folders differ after ${timeoutMs} ms:\n${described}\n${peers.map((p) => p.describe()).join('\n')}`,
      )
    }
    await sleep(100)
  }
}

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  })

function write(dir: string, path: string, text: string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true })
  writeFileSync(join(dir, path), text)
}

describe('a shared folder among three peers in real processes', () => {
  it('ends with three byte-identical folders, holding every text written', async () => {
    const ana = await CliPeer.start({
      name: 'ana',
      antiEntropyMs: 500,
      project: {
        files: {
          'README.md': '# Project\n',
          'src/main.ts': 'export const main = 1\n',
          'lib/util.ts': 'export const util = 1\n',
          'docs/old.md': 'old notes\n',
          '.gitignore': 'build/\n',
          'build/out.js': 'not shared\n',
        },
      },
    })
    // Ana's folder is a git checkout with a second branch, for later.
    git(ana.tree, 'init', '-q', '-b', 'main')
    git(ana.tree, 'add', '-A')
    git(ana.tree, 'commit', '-q', '-m', 'main')
    const ben = await CliPeer.start({
      name: 'ben',
      antiEntropyMs: 500,
      project: { invite: await ana.invite() },
    })
    const cat = await CliPeer.start({
      name: 'cat',
      antiEntropyMs: 500,
      project: { invite: await ana.invite() },
    })
    await ben.run(`add 127.0.0.1:${cat.port}`) // a full mesh: ben and cat knew only ana
    const shared = await identical([ana, ben, cat])
    expect(shared['src/main.ts']).toBe('export const main = 1\n')
    expect(shared['build/out.js']).toBeUndefined() // ignored, never shared
    expect((await ben.run('ls')).join('\n')).toContain('src/main.ts')

    // All at once, on three machines.
    renameSync(join(ana.tree, 'src/main.ts'), join(ana.tree, 'src/index.ts'))
    writeFileSync(join(ana.tree, 'README.md'), '# Project\nana’s editor saved this\n')
    await ben.run('open README.md')
    await ben.run('edit insert 0 "<!-- ben -->\\n"')
    write(ben.tree, 'notes.md', 'ben’s notes\n')
    write(cat.tree, 'notes.md', 'cat’s notes\n')
    unlinkSync(join(cat.tree, 'docs/old.md'))
    let now = await identical([ana, ben, cat])
    expect(now['README.md']).toBe('<!-- ben -->\n# Project\nana’s editor saved this\n')
    expect(now['src/index.ts']).toBe('export const main = 1\n')
    expect(now['src/main.ts']).toBeUndefined()
    expect(now['docs/old.md']).toBeUndefined()
    // Two files made at one path on two machines: both kept, one beside the other.
    expect([now['notes.md'], now['notes (2).md']].sort()).toEqual(['ben’s notes\n', 'cat’s notes\n'])

    // Cat works offline; meanwhile the others rename the folder cat adds to and edit a file it edits.
    await cat.run('offline on')
    write(cat.tree, 'lib/offline.ts', 'written offline\n')
    writeFileSync(join(cat.tree, 'src/index.ts'), 'export const main = 1\n// cat, offline\n')
    await sleep(500) // cat's watcher has read its changes before the others' arrive
    renameSync(join(ana.tree, 'lib'), join(ana.tree, 'library'))
    await ben.run('open src/index.ts')
    await ben.run('edit insert 0 "// ben\\n"')
    await identical([ana, ben])
    await cat.run('offline off')
    now = await identical([ana, ben, cat])
    expect(now['library/offline.ts']).toBe('written offline\n') // it went with its folder
    expect(now['library/util.ts']).toBe('export const util = 1\n')
    expect(now['lib/']).toBeUndefined()
    expect(now['src/index.ts']).toBe('// ben\nexport const main = 1\n// cat, offline\n')

    // Ben stops; while he is away, Ana edits a file he then edits on disk before he starts again.
    await ben.close()
    await ana.run('open src/index.ts')
    await ana.run('edit insert 0 "// ana, while ben was away\\n"')
    writeFileSync(join(ben.tree, 'src/index.ts'), '// ben\nexport const main = 2\n// cat, offline\n')
    write(ben.tree, 'docs/from-ben.md', 'made while stopped\n')
    await ben.restart()
    now = await identical([ana, ben, cat])
    expect(now['src/index.ts']).toBe(
      '// ana, while ben was away\n// ben\nexport const main = 2\n// cat, offline\n',
    )
    expect(now['docs/from-ben.md']).toBe('made while stopped\n')

    // A git checkout of another branch in Ana's folder, mid-session: the others' folders follow.
    git(ana.tree, 'add', '-A')
    git(ana.tree, 'commit', '-q', '-m', 'session so far')
    git(ana.tree, 'checkout', '-q', '-b', 'feature')
    write(ana.tree, 'src/feature.ts', 'export const feature = true\n')
    unlinkSync(join(ana.tree, 'README.md'))
    git(ana.tree, 'add', '-A')
    git(ana.tree, 'commit', '-q', '-m', 'feature')
    git(ana.tree, 'checkout', '-q', 'main')
    now = await identical([ana, ben, cat])
    expect(now['README.md']).toBe('<!-- ben -->\n# Project\nana’s editor saved this\n')
    expect(now['src/feature.ts']).toBeUndefined()
    git(ana.tree, 'checkout', '-q', 'feature')
    now = await identical([ana, ben, cat])
    expect(now['src/feature.ts']).toBe('export const feature = true\n')
    expect(now['README.md']).toBeUndefined()

    await Promise.all([ana, ben, cat].map((p) => p.close()))
  }, 180_000)
})
