/**
 * A project's folder kept in step with the project (src/main/project/project-folder.ts), in one
 * process: two nodes over an in-memory link (the same protocol sessions as TCP), each with a real
 * folder and the OS's change events. Changes made on disk by other programs, and edits made in the
 * documents, reach the other member's folder; an edit on disk and one in the document made at once
 * are both kept (the disk's is merged against the text last written, not the document as it is).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeInvite } from '../../../src/main/node/invite-code'
import type { FileBase } from '../../../src/main/project/folder-links'
import { firstSync, ProjectFolder } from '../../../src/main/project/project-folder'
import { scanFolder } from '../../../src/main/folder/scan-folder'
import type { DocSession } from '../../../src/main/node/doc-session'
import { cleanup, connect, makeNode, until, type NodeState, type TestNode } from '../node/cluster'

const nodes: TestNode[] = []
const folders: ProjectFolder[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const f of folders.splice(0)) await f.close()
  await cleanup(nodes.splice(0))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function folder(name: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `meshpad-project-${name}-`))
  dirs.push(dir)
  put(dir, files)
  return dir
}

function put(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
}

/** The folder's files and texts as `contents` gives them, read at once (for `until`). */
function contentsSync(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.name.endsWith('.meshpad-tmp')) continue
      if (e.isDirectory()) {
        out[`${path}/`] = ''
        walk(path)
      } else out[path] = readFileSync(join(dir, path), 'utf8')
    }
  }
  walk('')
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
}

async function contents(dir: string): Promise<Record<string, string>> {
  const scan = await scanFolder(dir)
  const out: Record<string, string> = {}
  for (const f of scan.files) out[f.path] = readFileSync(join(dir, f.path), 'utf8')
  for (const f of scan.folders) out[`${f}/`] = ''
  return out
}

async function sameFolders(a: string, b: string, timeoutMs = 10_000): Promise<Record<string, string>> {
  const start = Date.now()
  for (;;) {
    const [ca, cb] = [await contents(a), await contents(b)]
    if (JSON.stringify(ca) === JSON.stringify(cb)) return ca
    if (Date.now() - start > timeoutMs) expect(cb).toEqual(ca)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function start(
  n: TestNode,
  project: DocSession,
  dir: string,
  share: boolean,
  names: { namesFold?: boolean; windowsNames?: boolean } = {},
): Promise<ProjectFolder> {
  const f = await ProjectFolder.start(
    {
      workspace: n.ws,
      project,
      dir,
      bases: new Map<string, FileBase>(),
      saveBases: async () => undefined,
      log: (m) => n.logs.push(m),
      writeDelayMs: 30,
      watchDebounceMs: 40,
      namesFold: names.namesFold ?? false,
      windowsNames: names.windowsNames ?? false,
    },
    share,
  )
  folders.push(f)
  return f
}

async function twoMembers(
  files: Record<string, string>,
  benNames: { namesFold?: boolean; windowsNames?: boolean } = {},
  ...nodeOptions: [now?: () => number, state?: NodeState]
): Promise<{ a: string; b: string; ana: TestNode; ben: TestNode; pa: ProjectFolder; pb: ProjectFolder }> {
  const ana = await makeNode('ana', ...nodeOptions)
  const ben = await makeNode('ben', ...nodeOptions)
  nodes.push(ana, ben)
  const a = folder('ana', files)
  const b = folder('ben')
  const project = await ana.ws.createDoc('project')
  const pa = await start(ana, project, a, true)
  connect(ana, ben)
  await until('hello', () => ben.ws.session(ana.self)?.ready === true)
  const code = await ana.ws.createInvite(project.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  ben.ws.redeemWith(ben.ws.session(ana.self)!, decodeInvite(code))
  await until('ben joined', () => ben.ws.doc(project.docId)?.myRole === 'editor', 5000)
  const pb = await start(ben, ben.ws.doc(project.docId)!, b, false, benNames)
  return { a, b, ana, ben, pa, pb }
}

describe('ProjectFolder: a project kept in step with a folder on each member’s disk', () => {
  it('shares a folder, and carries disk changes and document edits to the other folder', async () => {
    const { a, b, pb } = await twoMembers({ 'README.md': '# Plan\n', 'src/main.ts': 'main\n' })
    expect(await sameFolders(a, b)).toEqual({ 'README.md': '# Plan\n', 'src/': '', 'src/main.ts': 'main\n' })

    writeFileSync(join(a, 'README.md'), '# Plan\nfrom ana’s editor\n')
    renameSync(join(a, 'src/main.ts'), join(a, 'src/index.ts'))
    put(a, { 'docs/new.md': 'new\n' })
    expect(await sameFolders(a, b)).toEqual({
      'README.md': '# Plan\nfrom ana’s editor\n',
      'docs/': '',
      'docs/new.md': 'new\n',
      'src/': '',
      'src/index.ts': 'main\n',
    })

    const readme = (await pb.openPath('README.md'))!
    await readme.insert(0, '<!-- ben -->\n')
    await until('ana’s folder has ben’s edit', () =>
      readFileSync(join(a, 'README.md'), 'utf8').startsWith('<!--'),
    )
    expect((await sameFolders(a, b))['README.md']).toBe('<!-- ben -->\n# Plan\nfrom ana’s editor\n')
  })

  it('files closed while idle: edits still reach both folders, and a write to the folder opens only new files', async () => {
    let t = Date.now()
    const idleMs = 30_000
    const { a, b, ana, ben } = await twoMembers(
      { 'README.md': '# Plan\n', 'src/main.ts': 'main\n' },
      {},
      () => t,
      { fileIdleMs: idleMs },
    )
    await sameFolders(a, b)
    const projectId = ana.ws.openDocs()[0]!.docId
    const openPaths = (n: TestNode): string[] =>
      n.ws
        .filesOf(projectId)
        .map((d) => n.ws.doc(projectId)!.durable.tree.path(n.ws.fileNode(d.docId)!)!)
        .sort()
    const closeAll = async (n: TestNode): Promise<void> => {
      // Seals wait for a pause in typing (1 s, on the real clock) before a file counts as idle.
      for (let i = 0; i < 60 && n.ws.filesOf(projectId).length > 0; i++) {
        t += idleMs
        n.ws.syncAll()
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(openPaths(n)).toEqual([])
    }
    await closeAll(ana)
    await closeAll(ben)

    // Ben's editor changes README.md: his copy opens to take it, and ana's opens for his edit, which
    // her folder gets. src/main.ts stays closed on both sides.
    writeFileSync(join(b, 'README.md'), '# Plan\nby ben\n')
    await until('ana’s folder has ben’s change', () =>
      readFileSync(join(a, 'README.md'), 'utf8').includes('by ben'),
    )
    expect(openPaths(ana)).toEqual(['README.md'])
    expect(openPaths(ben)).toEqual(['README.md'])
    // A new file on ana's disk: the write to ben's folder that follows opens only that file there.
    put(a, { 'docs/new.md': 'new\n' })
    expect(await sameFolders(a, b)).toEqual({
      'README.md': '# Plan\nby ben\n',
      'docs/': '',
      'docs/new.md': 'new\n',
      'src/': '',
      'src/main.ts': 'main\n',
    })
    expect(openPaths(ben)).toEqual(['README.md', 'docs/new.md'])
    // Written, they close again; the folders stay as they are.
    await closeAll(ana)
    await closeAll(ben)
    expect(await contents(b)).toEqual(await contents(a))
  })

  it('a file saved again and again by another program adds one replica to its document, not one per save', async () => {
    // Peers bind at most 4 replicas of one device to a document here: with one per save, the third save
    // on would be refused by ben, and his folder would never get it.
    let t = Date.now()
    const idleMs = 30_000
    const { a, b, ana, pa } = await twoMembers({ 'README.md': 'v0\n' }, {}, () => t, {
      replicasPerDevice: 4,
      fileIdleMs: idleMs,
    })
    await sameFolders(a, b)
    const save = async (v: number): Promise<void> => {
      writeFileSync(join(a, 'README.md'), `v${v}\n`)
      await until(
        `ben’s folder has save ${v}`,
        () => readFileSync(join(b, 'README.md'), 'utf8') === `v${v}\n`,
        5000,
      )
    }
    for (let v = 1; v <= 8; v++) await save(v)
    const replicas = async (): Promise<string[]> =>
      Object.keys((await pa.openPath('README.md'))!.textVersion())
    // The import's disk replica took every save up after it.
    const [disk] = await replicas()
    expect(await replicas()).toEqual([disk])

    // Closed while idle and opened again by the next save: the same replica goes on.
    const projectId = ana.ws.openDocs()[0]!.docId
    for (let i = 0; i < 60 && ana.ws.filesOf(projectId).length > 0; i++) {
      t += idleMs
      ana.ws.syncAll()
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(ana.ws.filesOf(projectId)).toEqual([])
    for (let v = 9; v <= 12; v++) await save(v)
    expect(await replicas()).toEqual([disk])
  })

  it('on a file system that folds case, files whose names differ only in case get names of their own, texts apart', async () => {
    // Ana's (Linux) folder holds both; Ben's file system (macOS, Windows) would take them for one file.
    const files = {
      'README.md': 'upper\n',
      'readme.md': 'lower\n',
      'src/Main.ts': 'A\n',
      'src/main.ts': 'b\n',
    }
    const { a, b, pa, pb } = await twoMembers(files, { namesFold: true })
    const benHas = {
      'README.md': 'upper\n',
      'readme (2).md': 'lower\n',
      'src/': '',
      'src/Main.ts': 'A\n',
      'src/main (2).ts': 'b\n',
    }
    await until(
      'ben’s folder written',
      () => JSON.stringify(contentsSync(b)) === JSON.stringify(benHas),
      10_000,
    )
    const folded = Object.keys(await contents(b)).map((p) => p.toLowerCase())
    expect(new Set(folded).size).toBe(folded.length) // no two would be one file there
    // Ben edits his "readme (2).md": it is Ana's readme.md; README.md is untouched on both sides.
    writeFileSync(join(b, 'readme (2).md'), 'lower, edited by ben\n')
    await until(
      'ana has ben’s edit',
      () => readFileSync(join(a, 'readme.md'), 'utf8') === 'lower, edited by ben\n',
    )
    expect(readFileSync(join(a, 'README.md'), 'utf8')).toBe('upper\n')
    expect(await contents(a)).toEqual({ ...files, 'readme.md': 'lower, edited by ben\n', 'src/': '' })
    // Still two files on each side, under each side's names: nothing made or renamed by the mapping.
    expect(pa.list().map((e) => e.path)).toEqual([
      'README.md',
      'readme.md',
      'src',
      'src/Main.ts',
      'src/main.ts',
    ])
    expect(pb.list().map((e) => e.path)).toEqual([
      'README.md',
      'readme (2).md',
      'src',
      'src/Main.ts',
      'src/main (2).ts',
    ])
  })

  it('on Windows, names Windows refuses are written as names it takes, and edits there reach the file', async () => {
    const files = { 'aux.c': 'int aux;\n', 'what?.md': 'why\n', 'src/con.h': '#pragma once\n' }
    const { a, b } = await twoMembers(files, { windowsNames: true, namesFold: true })
    const benHas = { 'aux_.c': 'int aux;\n', 'src/': '', 'src/con_.h': '#pragma once\n', 'what_.md': 'why\n' }
    await until(
      'ben’s folder written',
      () => JSON.stringify(contentsSync(b)) === JSON.stringify(benHas),
      10_000,
    )
    writeFileSync(join(b, 'src', 'con_.h'), '#pragma once\n// ben\n')
    await until('ana has ben’s edit', () =>
      readFileSync(join(a, 'src', 'con.h'), 'utf8').endsWith('// ben\n'),
    )
    expect(await contents(a)).toEqual({ ...files, 'src/': '', 'src/con.h': '#pragma once\n// ben\n' })
  })

  it('keeps a change on disk and an edit in the document made at once', async () => {
    const { a, b, pa, pb, ben } = await twoMembers({ 'notes.md': 'one\ntwo\nthree\n' })
    await sameFolders(a, b)
    const bens = (await pb.openPath('notes.md'))!
    const anas = (await pa.openPath('notes.md'))!
    // Ben types at the top while Ana's formatter rewrites the last line on her disk: neither waits.
    const typed = bens.insert(0, 'zero\n')
    writeFileSync(join(a, 'notes.md'), 'one\ntwo\nTHREE\n')
    await typed
    await until(
      'both merged',
      () => anas.text === 'zero\none\ntwo\nTHREE\n' && bens.text === anas.text,
      10_000,
    )
    await until('both folders written', () => readFileSync(join(b, 'notes.md'), 'utf8').endsWith('THREE\n'))
    expect((await sameFolders(a, b))['notes.md']).toBe('zero\none\ntwo\nTHREE\n')
    // The disk's change came in as this device's edit, by a replica of its own.
    expect(ben.logs.filter((l) => l.includes('refused'))).toEqual([])
  })

  it('a viewer’s folder follows the project, and what it changes there is not shared', async () => {
    const ana = await makeNode('ana')
    const vic = await makeNode('vic')
    nodes.push(ana, vic)
    const a = folder('ana', { 'plan.md': 'plan\n', 'notes.md': 'notes\n' })
    const v = folder('vic')
    const project = await ana.ws.createDoc('project')
    const pa = await start(ana, project, a, true)
    connect(ana, vic)
    await until('hello', () => vic.ws.session(ana.self)?.ready === true)
    const code = await ana.ws.createInvite(project.docId, 'viewer', [{ host: '127.0.0.1', port: 9 }])
    vic.ws.redeemWith(vic.ws.session(ana.self)!, decodeInvite(code))
    await until('vic joined', () => vic.ws.doc(project.docId)?.myRole === 'viewer', 5000)
    await start(vic, vic.ws.doc(project.docId)!, v, false)
    await sameFolders(a, v)

    writeFileSync(join(v, 'plan.md'), 'plan, as vic would have it\n')
    put(v, { 'mine.md': 'vic’s own\n' })
    await until('vic was told', () => vic.logs.some((l) => l.includes('viewer of the project')))
    const notes = (await pa.openPath('notes.md'))!
    await notes.insert(0, 'ana: ')
    await until('vic’s folder follows', () => readFileSync(join(v, 'notes.md'), 'utf8') === 'ana: notes\n')
    expect(await contents(a)).toEqual({ 'notes.md': 'ana: notes\n', 'plan.md': 'plan\n' })
    // Vic's own change is left as he made it: never overwritten without having been merged.
    expect(readFileSync(join(v, 'plan.md'), 'utf8')).toBe('plan, as vic would have it\n')
    expect(project.durable.tree.list().map((e) => e.path)).toEqual(['notes.md', 'plan.md'])
    // Taken up again (a restart), Vic's folder keeps his change too.
    await folders.pop()!.close()
    await start(vic, vic.ws.doc(project.docId)!, v, false)
    await notes.insert(0, '2 ')
    await until('vic’s folder follows', () => readFileSync(join(v, 'notes.md'), 'utf8') === '2 ana: notes\n')
    expect(readFileSync(join(v, 'plan.md'), 'utf8')).toBe('plan, as vic would have it\n')
  })

  it('a join into a folder that holds the project’s files takes them as the project’s, not beside them', async () => {
    const files = { 'README.md': '# Plan\n', 'src/main.ts': 'main\n' }
    const ana = await makeNode('ana')
    const ben = await makeNode('ben')
    nodes.push(ana, ben)
    const a = folder('ana', files)
    const b = folder('ben', { ...files, 'src/main.ts': 'main, ben’s version\n' })
    const project = await ana.ws.createDoc('project')
    await start(ana, project, a, true)
    connect(ana, ben)
    await until('hello', () => ben.ws.session(ana.self)?.ready === true)
    const code = await ana.ws.createInvite(project.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
    ben.ws.redeemWith(ben.ws.session(ana.self)!, decodeInvite(code))
    await until('ben joined', () => ben.ws.doc(project.docId) !== undefined, 5000)
    const joined = ben.ws.doc(project.docId)!
    await firstSync(joined, 5000)
    expect(joined.durable.tree.list().map((e) => e.path)).toEqual(['README.md', 'src', 'src/main.ts'])
    await start(ben, joined, b, false)
    // Ben's differing text is merged in as his edit; nothing is added beside the project's files.
    await until(
      'ana has ben’s text',
      () => readFileSync(join(a, 'src/main.ts'), 'utf8') === 'main, ben’s version\n',
    )
    expect(await sameFolders(a, b)).toEqual({
      'README.md': '# Plan\n',
      'src/': '',
      'src/main.ts': 'main, ben’s version\n',
    })
  })

  it('a joiner’s folder written file after file makes no change to the project (its own writes are not changes)', async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 150; i++)
      files[`d${i % 7}/sub${i % 3}/f${i}.ts`] = `export const f${i} = ${i}\n`.repeat(1 + (i % 5))
    const { a, b, ana } = await twoMembers(files)
    const project = ana.ws.openDocs()[0]!
    const ops = project.durable.tree.opCount()
    const shared = await sameFolders(a, b, 30_000)
    expect(Object.keys(shared).filter((p) => !p.endsWith('/'))).toHaveLength(150)
    await new Promise((r) => setTimeout(r, 300)) // the joiner's watcher has read its own writes
    expect(project.durable.tree.opCount()).toBe(ops) // no op of the joiner's: no file taken for gone
  }, 60_000)
})
