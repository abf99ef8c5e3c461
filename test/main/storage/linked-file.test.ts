import { chmod, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StorageError } from '../../../src/main/storage/errors'
import { FileLinks } from '../../../src/main/storage/file-links'
import { nodeFs } from '../../../src/main/storage/fs-layer'
import {
  LinkedFile,
  type ExternalChange,
  type LinkedFileOptions,
} from '../../../src/main/storage/linked-file'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'

let dir: string
let dataDir: string
let backing: MemoryBacking
let open: LinkedFile[]
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-linked-'))
  dataDir = join(dir, 'data')
  backing = new Map()
  open = []
})
afterEach(async () => {
  for (const f of open) await f.close()
  await rm(dir, { recursive: true, force: true })
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
async function waitFor(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Opens like the app would after a restart: a fresh store and links object over the same data. */
async function openFile(
  path: string,
  extra: Partial<LinkedFileOptions> = {},
): Promise<{ file: LinkedFile; external: ExternalChange[]; errors: StorageError[] }> {
  const external: ExternalChange[] = []
  const errors: StorageError[] = []
  const file = await LinkedFile.open({
    path,
    store: new MemoryStore(backing),
    links: new FileLinks(nodeFs, dataDir),
    debounceMs: 80,
    onExternalChange: (c) => external.push(c),
    onError: (e) => errors.push(e),
    ...extra,
  })
  open.push(file)
  return { file, external, errors }
}

/** How another editor saves: a new file renamed over the old one. */
async function externalSave(path: string, content: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.other-editor~`, content)
  await rename(`${path}.other-editor~`, path)
}

describe('LinkedFile', () => {
  it('reopens the same document, with its history, for the same file', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'first\n')
    const { file } = await openFile(path)
    await file.doc.insert(6, 'second\n')
    await file.save()
    const firstReplica = file.doc.replica
    await file.close()

    const { file: again } = await openFile(path)
    expect(again.doc.docId).toBe(file.doc.docId)
    expect(again.doc.text.toString()).toBe('first\nsecond\n')
    expect(Object.keys(again.doc.text.version())).toContain(firstReplica)
    expect(await readFile(path, 'utf8')).toBe('first\nsecond\n')
  })

  it('keeps UTF-16 with a BOM and CRLF line endings through an edit and a save', async () => {
    const path = join(dir, 'windows.txt')
    await writeFile(path, Buffer.from('\uFEFFline one\r\nline two\r\n', 'utf16le'))
    const { file } = await openFile(path)
    expect(file.format).toEqual({ encoding: 'utf16le', eol: 'crlf' })
    expect(file.doc.text.toString()).toBe('line one\nline two\n')
    await file.doc.insert(file.doc.text.length, 'line three\n')
    await file.save()
    expect(await readFile(path)).toEqual(
      Buffer.from('\uFEFFline one\r\nline two\r\nline three\r\n', 'utf16le'),
    )
  })

  it('merges a change made by another program, as ops by a disk author', async () => {
    const path = join(dir, 'a.txt')
    await writeFile(path, 'alpha\nbeta\n')
    const { file, external } = await openFile(path)
    await externalSave(path, 'alpha\nbeta\ngamma\n')
    await waitFor(() => external.length === 1, 'the external change')
    expect(file.doc.text.toString()).toBe('alpha\nbeta\ngamma\n')
    expect(external[0]!.changes).toEqual([{ index: 11, deleted: 0, inserted: 'gamma\n' }])
    const authors = Object.keys(file.doc.text.version())
    expect(authors).toHaveLength(2)
    expect(authors).toContain(file.doc.replica)
    // The merged change is durable: a restart sees it.
    await file.close()
    expect((await openFile(path)).file.doc.text.toString()).toBe('alpha\nbeta\ngamma\n')
  })

  it('keeps an edit typed between the change on disk and the debounce firing', async () => {
    const path = join(dir, 'a.txt')
    await writeFile(path, 'one\ntwo\nthree\n')
    const { file, external } = await openFile(path, { debounceMs: 300 })
    await externalSave(path, 'one\n2\nthree\n')
    await sleep(20)
    await file.doc.insert(0, '# typed meanwhile\n')
    expect(external).toHaveLength(0)
    await waitFor(() => external.length === 1, 'the external change')
    expect(file.doc.text.toString()).toBe('# typed meanwhile\none\n2\nthree\n')
    await file.save()
    expect(await readFile(path, 'utf8')).toBe('# typed meanwhile\none\n2\nthree\n')
  })

  it('ignores the echo of its own saves', async () => {
    const path = join(dir, 'a.txt')
    await writeFile(path, 'x')
    const { file, external } = await openFile(path)
    for (let i = 0; i < 3; i++) {
      await file.doc.insert(file.doc.text.length, String(i))
      await file.save()
    }
    await sleep(400)
    expect(external).toEqual([])
    expect(file.doc.text.toString()).toBe('x012')
  })

  it('merges changes made on disk while the document was closed with edits that were never saved', async () => {
    const path = join(dir, 'a.txt')
    await writeFile(path, 'top\nmiddle\nbottom\n')
    const { file } = await openFile(path)
    await file.doc.insert(0, 'unsaved ')
    await file.close()
    await writeFile(path, 'top\nmiddle, edited elsewhere\nbottom\n')
    const { file: again, external } = await openFile(path)
    expect(again.doc.text.toString()).toBe('unsaved top\nmiddle, edited elsewhere\nbottom\n')
    expect(external).toHaveLength(1)
  })

  it('reports a file deleted while open, keeps the document, and recreates the file on save', async () => {
    const path = join(dir, 'a.txt')
    await writeFile(path, 'precious')
    const { file, errors } = await openFile(path)
    await unlink(path)
    await waitFor(() => errors.length === 1, 'the deletion report')
    expect(errors[0]).toMatchObject({ code: 'NOT_FOUND', path })
    expect(errors[0]!.message).toMatch(/deleted or renamed.*Save As/)
    expect(file.doc.text.toString()).toBe('precious')
    await file.save()
    expect(await readFile(path, 'utf8')).toBe('precious')
  })

  it('moves the link on Save As', async () => {
    const path = join(dir, 'a.txt')
    const copy = join(dir, 'b.txt')
    await writeFile(path, 'text')
    const { file } = await openFile(path)
    await file.saveAs(copy)
    expect(file.path).toBe(copy)
    await file.close()
    expect((await openFile(copy)).file.doc.docId).toBe(file.doc.docId)
    expect((await openFile(path)).file.doc.docId).not.toBe(file.doc.docId)
  })

  it('refuses to save over a read-only file, keeping the document', async () => {
    const path = join(dir, 'ro.txt')
    await writeFile(path, 'old')
    await chmod(path, 0o444)
    const { file } = await openFile(path)
    await file.doc.insert(3, ' and new')
    await expect(file.save()).rejects.toMatchObject({ code: 'READ_ONLY', path })
    expect(file.doc.text.toString()).toBe('old and new')
    expect(await readFile(path, 'utf8')).toBe('old')
  })

  it('refuses a binary file with a typed error', async () => {
    const path = join(dir, 'image.bin')
    await writeFile(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]))
    await expect(openFile(path)).rejects.toMatchObject({ code: 'NOT_TEXT', path })
  })

  it('stops watching when closed', async () => {
    const path = join(dir, 'a.txt')
    await writeFile(path, 'x')
    const { file, external } = await openFile(path)
    expect(file.watching).toBe(true)
    await file.close()
    await file.close()
    expect(file.watching).toBe(false)
    await externalSave(path, 'changed after close')
    await sleep(300)
    expect(external).toEqual([])
  })
})
