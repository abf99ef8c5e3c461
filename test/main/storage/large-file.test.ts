/**
 * A 10 MB file opens into an editable document, saves back byte for byte, and reopens from the data dir.
 * The timing bound here is loose (CI machines are shared); `npm run bench -- storage` measures the
 * 300 ms target and the memory.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { makeText } from '../../../bench/storage'
import { FileLinks } from '../../../src/main/storage/file-links'
import { FileStore } from '../../../src/main/storage/file-store'
import { nodeFs } from '../../../src/main/storage/fs-layer'
import { LinkedFile } from '../../../src/main/storage/linked-file'

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'meshpad-large-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

it('opens, edits, saves and reopens a 10 MB CRLF file', async () => {
  const path = join(root, 'big.txt')
  const original = makeText(10 * 1024 * 1024).replaceAll('\n', '\r\n')
  await writeFile(path, original)
  const open = async (): Promise<{ file: LinkedFile; store: FileStore }> => {
    const store = new FileStore({ dir: join(root, 'data', 'docs') })
    const file = await LinkedFile.open({ path, store, links: new FileLinks(nodeFs, join(root, 'data')) })
    return { file, store }
  }

  const started = performance.now()
  let { file, store } = await open()
  expect(performance.now() - started).toBeLessThan(3000)
  expect(file.format).toEqual({ encoding: 'utf8', eol: 'crlf' })
  expect(file.doc.text.length).toBe(original.length - original.split('\r\n').length + 1)
  await file.doc.insert(0, 'first line\n')
  await file.doc.delete(file.doc.text.length - 10, 10)
  const edited = file.doc.text.toString()
  await file.save()
  const saved = await readFile(path)
  expect(saved.equals(Buffer.from(edited.replaceAll('\n', '\r\n')))).toBe(true)
  expect(saved.subarray(0, 12).toString()).toBe('first line\r\n')
  await file.close()
  await store.close()

  ;({ file, store } = await open())
  expect(file.doc.text.toString()).toBe(edited)
  await file.close()
  await store.close()
})
