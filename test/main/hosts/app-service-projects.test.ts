/**
 * The app API's shared-folder requests (issue 15, "UI") under plain Node, on two real nodes over TCP
 * with real folders: a folder shared, its tree listed and changed through the API (and so on disk), a
 * project joined as a viewer into another folder, a folder taken up again after a restart. The renderer is untrusted: every malformed argument
 * is refused with BAD_REQUEST (or NOT_FOUND), and a viewer's tree changes with NOT_ALLOWED.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiEvent, ApiResult, ProjectEntry } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { PeerNode } from '../../../src/main/node/peer-node'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('AppService: shared folders', () => {
  const root = mkdtempSync(join(tmpdir(), 'meshpad-projects-'))
  const shared = join(root, 'ada-project')
  const joined = join(root, 'bo-copy')
  const sides: { node: PeerNode; service: AppService; client: AppClient; events: ApiEvent[] }[] = []
  let projectId = ''

  const side = async (name: string): Promise<(typeof sides)[number]> => {
    const dataDir = join(root, `${name}-data`)
    // Files not in use close after 300 ms (and open again when needed) all through these tests.
    const node = await PeerNode.start({
      dataDir,
      name,
      host: '127.0.0.1',
      antiEntropyMs: 200,
      fileIdleMs: 300,
    })
    const service = new AppService({
      node,
      host: 'browser',
      version: 'test',
      dataDir,
      watchDebounceMs: 30,
      folderWriteDelayMs: 20,
    })
    const events: ApiEvent[] = []
    const s = { node, service, client: service.connect((e) => events.push(e)), events }
    sides.push(s)
    return s
  }

  beforeAll(async () => {
    mkdirSync(join(shared, 'src'), { recursive: true })
    writeFileSync(join(shared, 'README.md'), '# Hello\n')
    writeFileSync(join(shared, 'src', 'main.ts'), 'export const x = 1\n')
    writeFileSync(join(shared, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]))
    await side('ada')
    await side('bo')
  })

  afterAll(async () => {
    for (const s of sides) {
      await s.service.closeProjects()
      s.service.close()
      await s.node.close()
    }
  })

  const ada = (): AppClient => sides[0]!.client
  const bo = (): AppClient => sides[1]!.client
  const entries = async (client: AppClient): Promise<readonly ProjectEntry[]> =>
    value(await client.openProject(projectId)).entries
  const nodeAt = async (client: AppClient, path: string): Promise<string> => {
    const e = (await entries(client)).find((x) => x.path === path)
    if (!e) throw new Error(`no ${path}`)
    return e.node
  }

  it('shares a folder: its tree as entries, each file with its document', async () => {
    const project = value(await ada().shareFolder(shared))
    projectId = project.projectId
    expect(project).toMatchObject({ title: 'ada-project', role: 'owner' })
    expect(value(await ada().listProjects()).map((p) => p.projectId)).toEqual([projectId])
    const list = await entries(ada())
    expect(list.map((e) => [e.path, e.kind])).toEqual([
      ['README.md', 'file'],
      ['src', 'folder'],
      ['src/main.ts', 'file'],
    ])
    expect(list.every((e) => (e.kind === 'file') === (e.docId !== null))).toBe(true)
    // A project's files are not listed among documents: the project is, as a project.
    expect(value(await ada().listDocuments())).toEqual([])
    const opened = value(await ada().openProjectFile(projectId, list[0]!.node))
    expect(opened).toMatchObject({ docId: list[0]!.docId, title: 'README.md', fileName: 'README.md' })
  })

  it('lists the files the project leaves out, as they come and go on disk', async () => {
    const ada0 = sides[0]!
    expect(value(await ada().openProject(projectId)).notShared).toEqual([{ path: 'logo.png', why: 'binary' }])
    const notShared = (): unknown => {
      const last = ada0.events.filter((e) => e.type === 'project-not-shared').at(-1)
      return last?.type === 'project-not-shared' ? last.files : null
    }
    writeFileSync(join(shared, 'src', 'big.log'), 'x'.repeat(4 * 1024 * 1024 + 1))
    await until(() => JSON.stringify(notShared()).includes('src/big.log'), 'big.log listed as not shared')
    expect(notShared()).toEqual([
      { path: 'logo.png', why: 'binary' },
      { path: 'src/big.log', why: 'too-large' },
    ])
    rmSync(join(shared, 'logo.png'))
    writeFileSync(join(shared, 'src', 'big.log'), 'small now\n') // shareable: it joins the project
    await until(() => JSON.stringify(notShared()) === '[]', 'nothing left out')
    const listed = async (): Promise<boolean> => (await entries(ada())).some((e) => e.path === 'src/big.log')
    const end = Date.now() + 15_000
    while (!(await listed()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    expect(await listed()).toBe(true) // shared once it fits
    rmSync(join(shared, 'src', 'big.log'))
    while ((await listed()) && Date.now() < end + 15_000) await new Promise((r) => setTimeout(r, 50))
    expect(await listed()).toBe(false)
  })

  it('refuses malformed requests with BAD_REQUEST, unknown ones with NOT_FOUND', async () => {
    const bad = (r: ApiResult<unknown>): unknown => (r.ok ? 'ok' : r.code)
    expect(bad(await ada().shareFolder('relative/dir'))).toBe('BAD_REQUEST')
    expect(bad(await ada().shareFolder(42 as unknown as string))).toBe('BAD_REQUEST')
    expect(bad(await ada().shareFolder(join(root, 'missing')))).toBe('STORAGE')
    expect(bad(await ada().shareFolder(join(shared, 'README.md')))).toBe('STORAGE')
    expect(bad(await ada().shareFolder(join(shared, 'src')))).toBe('BAD_REQUEST') // inside a shared one
    expect(bad(await ada().openProject('nope'))).toBe('BAD_REQUEST')
    expect(bad(await ada().openProject('0'.repeat(32)))).toBe('NOT_FOUND')
    const src = await nodeAt(ada(), 'src')
    const readme = await nodeAt(ada(), 'README.md')
    expect(bad(await ada().openProjectFile(projectId, src))).toBe('BAD_REQUEST') // a folder
    expect(bad(await ada().openProjectFile(projectId, 'x'.repeat(301)))).toBe('BAD_REQUEST')
    expect(bad(await ada().openProjectFile(projectId, 'root'))).toBe('NOT_FOUND')
    expect(bad(await ada().createEntry(projectId, null, 'a/b', 'file'))).toBe('BAD_REQUEST')
    expect(bad(await ada().createEntry(projectId, null, '..', 'file'))).toBe('BAD_REQUEST')
    expect(bad(await ada().createEntry(projectId, null, 'x', 'link' as 'file'))).toBe('BAD_REQUEST')
    expect(bad(await ada().createEntry(projectId, readme, 'x', 'file'))).toBe('BAD_REQUEST') // in a file
    expect(bad(await ada().createEntry(projectId, null, 'README.md', 'file'))).toBe('FILE_EXISTS')
    expect(bad(await ada().renameEntry(projectId, readme, 'src'))).toBe('FILE_EXISTS')
    expect(bad(await ada().moveEntry(projectId, src, src))).toBe('BAD_REQUEST') // into itself
    expect(bad(await ada().deleteEntry(projectId, { node: readme } as unknown as string))).toBe('BAD_REQUEST')
    expect(bad(await ada().joinProject('nonsense', join(root, 'j')))).toBe('BAD_INVITE')
    expect(bad(await ada().pickFolder('share'))).toBe('NOT_SUPPORTED')
  })

  it('creates, renames, moves and deletes through the tree, and the folder follows', async () => {
    const events = sides[0]!.events
    events.length = 0
    const src = await nodeAt(ada(), 'src')
    const notes = value(await ada().createEntry(projectId, src, 'notes.md', 'file'))
    value(await ada().createEntry(projectId, null, 'docs', 'folder'))
    value(await ada().renameEntry(projectId, notes, 'todo.md'))
    value(await ada().moveEntry(projectId, notes, await nodeAt(ada(), 'docs')))
    await until(() => existsSync(join(shared, 'docs', 'todo.md')), 'docs/todo.md on disk')
    expect(existsSync(join(shared, 'src', 'notes.md'))).toBe(false)
    value(await ada().deleteEntry(projectId, await nodeAt(ada(), 'src/main.ts')))
    await until(() => !existsSync(join(shared, 'src', 'main.ts')), 'src/main.ts gone from disk')
    // The window that opened the project heard the tree as it is now.
    const trees = events.filter((e): e is Extract<ApiEvent, { type: 'tree' }> => e.type === 'tree')
    expect(trees.at(-1)?.entries.map((e) => e.path)).toEqual(['README.md', 'docs', 'docs/todo.md', 'src'])
  })

  it('lists what was deleted, and puts it back with its text, beside a file that took its name meanwhile', async () => {
    const bad = (r: ApiResult<unknown>): unknown => (r.ok ? 'ok' : r.code)
    const main = value(await ada().openProject(projectId)).deleted.find((d) => d.name === 'main.ts')
    expect(main).toMatchObject({ kind: 'file', from: 'src' })
    expect(Math.abs(Date.now() - main!.deletedAt)).toBeLessThan(60_000)
    expect(value(await ada().restoreEntry(projectId, main!.node))).toBe('src/main.ts')
    await until(() => existsSync(join(shared, 'src', 'main.ts')), 'src/main.ts back on disk')
    expect(readFileSync(join(shared, 'src', 'main.ts'), 'utf8')).toBe('export const x = 1\n')
    const after = value(await ada().openProject(projectId))
    expect(after.deleted.map((d) => d.node)).not.toContain(main!.node)
    expect(after.entries.map((e) => e.path)).toContain('src/main.ts')
    expect(bad(await ada().restoreEntry(projectId, main!.node))).toBe('NOT_FOUND') // not deleted now

    // Deleted, and a new file took its name there: it goes back as "todo (restored).md".
    const events = sides[0]!.events
    const todo = await nodeAt(ada(), 'docs/todo.md')
    value(await ada().deleteEntry(projectId, todo))
    value(await ada().createEntry(projectId, await nodeAt(ada(), 'docs'), 'todo.md', 'file'))
    await until(
      () => events.some((e) => e.type === 'tree' && e.deleted.some((d) => d.node === todo)),
      'a tree event listing the delete',
    )
    expect(value(await ada().restoreEntry(projectId, todo))).toBe('docs/todo (restored).md')
    await until(() => existsSync(join(shared, 'docs', 'todo (restored).md')), 'the restored file on disk')
    await until(() => existsSync(join(shared, 'docs', 'todo.md')), 'the new todo.md on disk beside it')
    expect(bad(await ada().restoreEntry(projectId, 42 as unknown as string))).toBe('BAD_REQUEST')
    expect(bad(await ada().restoreEntry(projectId, 'no-such-node'))).toBe('NOT_FOUND')
  })

  it('joins as a viewer into another folder, which then holds the files; a viewer changes nothing', async () => {
    const invite = value(await ada().createInvite(projectId, 'viewer'))
    const asked = value(await bo().joinProject(invite.code, joined))
    expect(asked).toBe(projectId)
    const events = sides[1]!.events
    await until(() => events.some((e) => e.type === 'project-joined'), 'project-joined')
    expect(events.find((e) => e.type === 'project-joined')).toMatchObject({ ok: true, projectId })
    await until(() => existsSync(join(joined, 'docs', 'todo.md')), 'the files in the joined folder')
    expect(readFileSync(join(joined, 'README.md'), 'utf8')).toBe('# Hello\n')
    expect(value(await bo().openProject(projectId)).role).toBe('viewer')
    const readme = await nodeAt(bo(), 'README.md')
    const refused = (r: ApiResult<unknown>): unknown => (r.ok ? 'ok' : r.code)
    expect(refused(await bo().createEntry(projectId, null, 'mine.md', 'file'))).toBe('NOT_ALLOWED')
    expect(refused(await bo().renameEntry(projectId, readme, 'x.md'))).toBe('NOT_ALLOWED')
    expect(refused(await bo().deleteEntry(projectId, readme))).toBe('NOT_ALLOWED')
    const gone = value(await bo().openProject(projectId)).deleted[0]!
    expect(refused(await bo().restoreEntry(projectId, gone.node))).toBe('NOT_ALLOWED')
    expect(refused(await bo().moveEntry(projectId, readme, await nodeAt(bo(), 'docs')))).toBe('NOT_ALLOWED')
    // Joining it again (into any folder) is refused: it is held already.
    expect(refused(await bo().joinProject(invite.code, join(root, 'again')))).toBe('BAD_REQUEST')
  })

  it("names who wrote a shared file's text on both sides, from its seal: a merge from disk carries no author record", async () => {
    const readme = await nodeAt(bo(), 'README.md')
    for (const [i, client] of [ada(), bo()].entries()) {
      const opened = value(await client.openProjectFile(projectId, readme))
      const session = sides[i]!.node.workspace.doc(opened.docId)!
      const writers = Object.keys(session.textVersion())
      expect(writers.length).toBeGreaterThan(0)
      const authors = value(await client.authors(opened.docId))
      for (const replica of writers) {
        expect(session.durable.props.get(`author:${replica}`)).toBeUndefined()
        expect(authors[replica]).toMatchObject({ name: 'ada' })
      }
      value(await client.closeDocument(opened.docId))
    }
  })

  it('marks the files others changed while Bo was offline, until he opens one', async () => {
    const bo0 = sides[1]!
    const boReadme = await nodeAt(bo(), 'README.md')
    expect(value(await bo().openProject(projectId)).away).toEqual([])
    bo0.node.setOnline(false)
    await until(() => sides[0]!.node.workspace.peers().length === 0, 'Bo gone from Ada')

    // Ada edits README.md through her window while Bo is away.
    const readme = value(await ada().openProjectFile(projectId, await nodeAt(ada(), 'README.md')))
    const replica = new TextDoc(readme.replica)
    replica.applyRemote(readme.state)
    value(
      await ada().pushOps(readme.docId, replica.localInsert(replica.length, 'Edited while Bo was away.\n')),
    )

    const from = bo0.events.length
    bo0.node.setOnline(true)
    await until(
      () => bo0.events.slice(from).some((e) => e.type === 'project-away' && e.files.includes(boReadme)),
      'Bo told that README.md changed while he was away',
    )
    expect(value(await bo().openProject(projectId)).away).toEqual([boReadme])
    // Opened here, it is seen: the mark goes, and the editor is told what came while Bo was away.
    const seen = value(await bo().openProjectFile(projectId, boReadme))
    const boReplica = new TextDoc(seen.replica)
    boReplica.applyRemote(seen.state)
    const changed = boReplica.insertedSince(seen.awaySince ?? {})
    expect(changed.map((r) => boReplica.toString().slice(r.from, r.to))).toEqual([
      'Edited while Bo was away.\n',
    ])
    await until(
      () => bo0.events.slice(from).some((e) => e.type === 'project-away' && e.files.length === 0),
      'the mark gone once Bo opened the file',
    )
    expect(value(await bo().openProject(projectId)).away).toEqual([])
    value(await bo().closeDocument(readme.docId))
  })

  it('a file no window shows closes when idle, and opens again for an edit or a window', async () => {
    const [ada0, bo0] = [sides[0]!, sides[1]!]
    const node = value(await ada().createEntry(projectId, null, 'idle.md', 'file'))
    await until(() => existsSync(join(joined, 'idle.md')), 'idle.md in Bo’s folder')
    const first = value(await ada().openProjectFile(projectId, node))
    const { docId } = first
    const shown = ada0.node.workspace.doc(docId)
    const closedOn = (s: (typeof sides)[number]): boolean => s.node.workspace.doc(docId) === undefined
    await until(() => closedOn(bo0), 'idle.md closed on Bo’s node', 5000)
    // Shown in Ada's window, her copy stayed open all that time.
    expect(ada0.node.workspace.doc(docId)).toBe(shown)
    const replica = new TextDoc(first.replica)
    replica.applyRemote(first.state)
    value(await ada().pushOps(docId, replica.localInsert(0, 'one\n')))
    await until(() => readFileSync(join(joined, 'idle.md'), 'utf8') === 'one\n', 'Bo’s folder has the edit')

    value(await ada().closeDocument(docId))
    await until(() => closedOn(ada0) && closedOn(bo0), 'idle.md closed on both nodes', 5000)
    const again = value(await ada().openProjectFile(projectId, node))
    const next = new TextDoc(again.replica)
    next.applyRemote(again.state)
    expect(next.toString()).toBe('one\n')
    // A window's replica is not handed out again in this run: the editor that had it may still hold it.
    expect(again.replica).not.toBe(first.replica)
    value(await ada().pushOps(docId, next.localInsert(4, 'two\n')))
    await until(
      () => readFileSync(join(joined, 'idle.md'), 'utf8') === 'one\ntwo\n',
      'Bo’s folder has the next',
    )
    value(await ada().closeDocument(docId))
  })

  it('tells a member removed from the project: no role for it any more, and its folder keeps the files', async () => {
    const bo0 = sides[1]!
    value(await bo().openProject(projectId)) // Bo's window shows the project: it hears its events
    const from = bo0.events.length
    value(await ada().removeMember(projectId, bo0.node.workspace.self))
    await until(
      () =>
        bo0.events
          .slice(from)
          .some((e) => e.type === 'sharing' && e.sharing.docId === projectId && e.sharing.myRole === null),
      `Bo told that he has no role in the project (his node: ${String(bo0.node.workspace.doc(projectId)?.myRole)})`,
    )
    expect(value(await bo().openProject(projectId)).role).toBeNull()
    expect(readFileSync(join(joined, 'README.md'), 'utf8')).toBe('# Hello\nEdited while Bo was away.\n')
  })

  it('takes a shared folder up again after a restart, with what changed on disk meanwhile', async () => {
    const ada0 = sides[0]!
    await ada0.service.closeProjects()
    ada0.service.close()
    await ada0.node.close()
    writeFileSync(join(shared, 'docs', 'todo.md'), 'written while Meshpad was not running\n')
    const dataDir = join(root, 'ada-data')
    const node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 200 })
    const service = new AppService({ node, host: 'browser', version: 'test', dataDir, watchDebounceMs: 30 })
    const events: ApiEvent[] = []
    sides[0] = { node, service, client: service.connect((e) => events.push(e)), events }
    expect(value(await ada().listProjects()).map((p) => p.projectId)).toEqual([projectId])
    const todo = await nodeAt(ada(), 'docs/todo.md')
    const opened = value(await ada().openProjectFile(projectId, todo))
    expect(opened.title).toBe('todo.md')
    // The file's document holds what was written on disk while the app was not running.
    const replica = new TextDoc('check')
    replica.applyRemote(opened.state)
    expect(replica.toString()).toBe('written while Meshpad was not running\n')
  })
})
