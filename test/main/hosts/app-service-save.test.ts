/**
 * Save As through the app API never writes over a file the user did not choose (issue 13): an existing
 * file that is not the document's own is refused with FILE_EXISTS unless the request says
 * `overwrite: true`; the document's own file needs no question; a folder is never a target. Opening a
 * folder says it is a folder, not a failing disk.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiResult, OpenedDoc, SaveAsOptions } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { PeerNode } from '../../../src/main/node/peer-node'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

describe('Save As and existing files, through the app API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-app-save-'))
  let node: PeerNode
  let service: AppService
  let window: AppClient
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8')

  /** A new document holding `text`, as a window makes it. */
  async function newDoc(text: string): Promise<OpenedDoc> {
    const doc = value(await window.newDocument('Untitled'))
    const replica = new TextDoc(doc.replica)
    replica.applyRemote(doc.state)
    value(await window.pushOps(doc.docId, replica.localInsert(0, text)))
    return doc
  }

  beforeAll(async () => {
    const dataDir = join(dir, 'data')
    node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    service = new AppService({ node, host: 'browser', version: 'test', dataDir, watchDebounceMs: 30 })
    window = service.connect(() => undefined)
  })

  afterAll(async () => {
    window.close()
    service.close()
    await node.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses to replace another file unless told to, then replaces it', async () => {
    writeFileSync(join(dir, 'precious.txt'), 'precious\n')
    const doc = await newDoc('scratch note')
    const refused = await window.saveAs(doc.docId, join(dir, 'precious.txt'))
    expect(refused).toMatchObject({ ok: false, code: 'FILE_EXISTS' })
    expect(!refused.ok && refused.message).toContain(`${join(dir, 'precious.txt')} already exists`)
    expect(read('precious.txt')).toBe('precious\n')
    expect(value(await window.status(doc.docId)).path).toBeNull()
    // `overwrite: false` is the same as none.
    expect(await window.saveAs(doc.docId, join(dir, 'precious.txt'), { overwrite: false })).toMatchObject({
      code: 'FILE_EXISTS',
    })
    const status = value(await window.saveAs(doc.docId, join(dir, 'precious.txt'), { overwrite: true }))
    expect(status).toMatchObject({ path: join(dir, 'precious.txt'), saved: true })
    expect(read('precious.txt')).toBe('scratch note')
  })

  it('saves over the document’s own file without asking, however the path is spelled', async () => {
    writeFileSync(join(dir, 'own.txt'), 'own\n')
    symlinkSync(join(dir, 'own.txt'), join(dir, 'own-link.txt'))
    const opened = value(await window.openFile(join(dir, 'own.txt')))
    const replica = new TextDoc(opened.replica)
    replica.applyRemote(opened.state)
    value(await window.pushOps(opened.docId, replica.localInsert(4, 'more\n')))
    for (const path of [join(dir, 'own.txt'), join(dir, '.', 'own.txt'), join(dir, 'own-link.txt')]) {
      expect(value(await window.saveAs(opened.docId, path))).toMatchObject({ saved: true })
    }
    expect(read('own.txt')).toBe('own\nmore\n')
  })

  it('asks again before replacing the document’s previous file after a Save As moved it', async () => {
    writeFileSync(join(dir, 'first.txt'), 'first\n')
    const opened = value(await window.openFile(join(dir, 'first.txt')))
    value(await window.saveAs(opened.docId, join(dir, 'second.txt')))
    writeFileSync(join(dir, 'first.txt'), 'changed by someone else\n')
    expect(await window.saveAs(opened.docId, join(dir, 'first.txt'))).toMatchObject({ code: 'FILE_EXISTS' })
    expect(read('first.txt')).toBe('changed by someone else\n')
  })

  it('never saves onto a folder, even when told to overwrite', async () => {
    mkdirSync(join(dir, 'folder'))
    writeFileSync(join(dir, 'folder', 'inside.txt'), 'kept')
    const doc = await newDoc('text')
    for (const options of [undefined, { overwrite: true }]) {
      const result = await window.saveAs(doc.docId, join(dir, 'folder'), options)
      expect(result).toMatchObject({ ok: false, code: 'STORAGE' })
      expect(!result.ok && result.message).toMatch(
        new RegExp(`^${join(dir, 'folder')} is a folder, not a file: choose a file name`),
      )
    }
    expect(read('folder/inside.txt')).toBe('kept')
  })

  it('rejects malformed options', async () => {
    const doc = await newDoc('x')
    for (const options of ['yes', { overwrite: 'yes' }, 1]) {
      expect(
        await window.saveAs(doc.docId, join(dir, 'new.txt'), options as unknown as SaveAsOptions),
      ).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    }
  })

  it('still asks for Save As when an unlinked document is saved', async () => {
    const doc = await newDoc('y')
    expect(await window.save(doc.docId)).toMatchObject({ ok: false, message: /Save As/ })
  })

  it('names a document after its file, following Save As, until someone sets a title', async () => {
    const title = (docId: string): string => node.workspace.doc(docId)!.title
    // A new document has no title (the window shows "Untitled") until it has a file.
    const fresh = value(await window.newDocument(''))
    expect(title(fresh.docId)).toBe('')
    value(await window.saveAs(fresh.docId, join(dir, 'named.md')))
    expect(title(fresh.docId)).toBe('named.md')
    value(await window.saveAs(fresh.docId, join(dir, 'renamed.md')))
    expect(title(fresh.docId)).toBe('renamed.md')
    // A title set by hand stays whatever the file is called.
    value(await window.setProp(fresh.docId, 'title', 'Plan'))
    value(await window.saveAs(fresh.docId, join(dir, 'third.md')))
    expect(title(fresh.docId)).toBe('Plan')
    // Documents made before new ones had no title were called "Untitled": they follow too.
    const old = await newDoc('old')
    expect(title(old.docId)).toBe('Untitled')
    value(await window.saveAs(old.docId, join(dir, 'old.md')))
    expect(title(old.docId)).toBe('old.md')
    // An opened file is named after it (so joiners see that name), and follows it.
    writeFileSync(join(dir, 'opened.txt'), 'o')
    const opened = value(await window.openFile(join(dir, 'opened.txt')))
    expect(title(opened.docId)).toBe('opened.txt')
    value(await window.saveAs(opened.docId, join(dir, 'moved.txt')))
    expect(title(opened.docId)).toBe('moved.txt')
  })

  it('says which folder is wrong when Save As names one that is missing or is a file', async () => {
    const doc = await newDoc('z')
    const missing = await window.saveAs(doc.docId, join(dir, 'nope', 'x.txt'))
    expect(missing).toMatchObject({
      ok: false,
      code: 'STORAGE',
      message: expect.stringMatching(
        new RegExp(`^There is no folder ${join(dir, 'nope')}: choose a folder that exists, or create it`),
      ) as unknown,
    })
    writeFileSync(join(dir, 'plain.txt'), 'plain')
    const inFile = await window.saveAs(doc.docId, join(dir, 'plain.txt', 'x.txt'))
    expect(!inFile.ok && inFile.message).toMatch(
      new RegExp(`^${join(dir, 'plain.txt')} is a file, not a folder: choose a folder to save in`),
    )
    // Not the advice for a file deleted while open.
    for (const r of [missing, inFile]) expect(!r.ok && r.message).not.toMatch(/no longer exists|deleted/)
    expect(read('plain.txt')).toBe('plain')
  })

  it('says a folder is a folder, not a failing disk, when one is opened', async () => {
    const result = await window.openFile(join(dir, 'folder'))
    expect(result).toMatchObject({
      ok: false,
      code: 'STORAGE',
      message: `${join(dir, 'folder')} is a folder, not a file: choose a text file.`,
    })
  })
})
