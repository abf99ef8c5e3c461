/**
 * LinkedFile after the things that go wrong (issue 17): a Save or a merge cut short, a first open cut
 * short, a base from an older version, stale temp files beside the file, a save that fails. The crash
 * states are made with FaultyFs (a rename or a log write that fails where a kill would have stopped)
 * and then reopened on the real filesystem, as the next start would.
 */
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { workspaceDocs } from '../../../src/main/hosts/workspace-files'
import { PeerNode } from '../../../src/main/node/peer-node'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import type { StorageError } from '../../../src/main/storage/errors'
import { FileLinks } from '../../../src/main/storage/file-links'
import { FileStore } from '../../../src/main/storage/file-store'
import { nodeFs } from '../../../src/main/storage/fs-layer'
import {
  LinkedFile,
  type ExternalChange,
  type StoreLinkedFileOptions,
} from '../../../src/main/storage/linked-file'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import { encodeSnapshotParts } from '../../../src/main/storage/snapshot-format'
import { hashBytes } from '../../../src/main/storage/text-file'
import { FaultyFs } from './faulty-fs'

let dir: string
let dataDir: string
let backing: MemoryBacking
let open: LinkedFile[]
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshpad-linked-recovery-'))
  dataDir = join(dir, 'data')
  backing = new Map()
  open = []
})
afterEach(async () => {
  for (const f of open) await f.close().catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
})

/** Opens like the next start would: a fresh links object over the same data dir. */
async function openFile(
  path: string,
  extra: Partial<StoreLinkedFileOptions> = {},
): Promise<{ file: LinkedFile; external: ExternalChange[]; errors: StorageError[] }> {
  const external: ExternalChange[] = []
  const errors: StorageError[] = []
  const fs = extra.fs ?? nodeFs
  const file = await LinkedFile.open({
    path,
    store: new MemoryStore(backing),
    links: new FileLinks(fs, dataDir),
    watch: false,
    onExternalChange: (c) => external.push(c),
    onError: (e) => errors.push(e),
    ...extra,
  })
  open.push(file)
  return { file, external, errors }
}

/** Fails every rename onto a path containing `pathIncludes`, from now on. */
function failRenames(pathIncludes: string): FaultyFs {
  return new FaultyFs().inject({ op: 'rename', nth: 1, times: 1e9, code: 'EIO', pathIncludes })
}

describe('LinkedFile recovers', () => {
  it('from a Save cut short after the file was written: the Save’s base is the base', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'a\n')
    const { file, errors } = await openFile(path)
    await file.checkDisk() // queued after the open's base write
    const docId = file.doc.docId
    // The same document, through links whose promotion of the Save's base fails (as a kill would stop it).
    await file.close()
    const faulty = failRenames(`${docId}.bin`)
    const { file: saving, errors: saveErrors } = await openFile(path, {
      fs: faulty,
      links: new FileLinks(faulty, dataDir),
    })
    await saving.doc.insert(2, 'b\n')
    await saving.save() // the file is written; the rename of the base is not
    expect(saveErrors.map((e) => e.code)).toEqual(['IO'])
    expect(await readFile(path, 'utf8')).toBe('a\nb\n')
    expect(await readdir(join(dataDir, 'bases'))).toContain(`${docId}.next.bin`)
    await saving.doc.insert(4, 'c\n') // unsaved
    await saving.close()
    expect(errors).toEqual([])

    // Reopened unchanged: the file is as Meshpad left it.
    const { file: again, external } = await openFile(path)
    expect(again.doc.text.toString()).toBe('a\nb\nc\n')
    expect(external).toEqual([])
    expect(await readdir(join(dataDir, 'bases'))).toEqual([`${docId}.bin`])
    await again.close()
    // Changed by another program: merged from the Save's base, so "b" is not inserted twice.
    await writeFile(path, 'a\nb\nd\n')
    const { file: merged } = await openFile(path)
    const text = merged.doc.text.toString()
    expect(text.split('b\n')).toHaveLength(2)
    expect([...text].sort().join('')).toBe([...'a\nb\nc\nd\n'].sort().join(''))
  })

  it('from a Save that failed: no temp file beside the file, the file and the base as before', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'old\n')
    const faulty = failRenames('notes.txt')
    const { file } = await openFile(path, { fs: faulty, links: new FileLinks(faulty, dataDir) })
    await file.doc.insert(0, 'new ')
    await expect(file.save()).rejects.toMatchObject({ code: 'IO', path })
    expect(await readFile(path, 'utf8')).toBe('old\n')
    expect((await readdir(dir)).sort()).toEqual(['data', 'notes.txt'])
    await file.checkDisk()
    expect(await readdir(join(dataDir, 'bases'))).toEqual([`${file.doc.docId}.bin`])
    await file.close()
    const { file: again, external } = await openFile(path)
    expect(again.doc.text.toString()).toBe('new old\n') // kept, unsaved
    expect(external).toEqual([])
    await again.save()
    expect(await readFile(path, 'utf8')).toBe('new old\n')
  })

  it('from a merge whose ops could not be stored: its base was, and the next open applies them', async () => {
    const path = join(dir, 'notes.txt')
    const docsDir = join(dataDir, 'docs')
    await writeFile(path, 'one\ntwo\n')
    const first = await LinkedFile.open({
      path,
      store: new FileStore({ dir: docsDir }),
      links: new FileLinks(nodeFs, dataDir),
      watch: false,
    })
    await first.doc.insert(0, 'zero\n')
    await first.close()
    await writeFile(path, 'one\ntwo\nthree\n')
    // The disk is full for the op log: the merge's ops are lost as if the process had died.
    const faulty = new FaultyFs().inject({
      op: 'write',
      nth: 1,
      times: 1e9,
      code: 'ENOSPC',
      pathIncludes: 'log-',
    })
    await expect(
      LinkedFile.open({
        path,
        store: new FileStore({ dir: docsDir, fs: faulty }),
        links: new FileLinks(nodeFs, dataDir),
        watch: false,
      }),
    ).rejects.toMatchObject({ code: 'DISK_FULL' })
    const external: ExternalChange[] = []
    const store = new FileStore({ dir: docsDir })
    const again = await LinkedFile.open({
      path,
      store,
      links: new FileLinks(nodeFs, dataDir),
      watch: false,
      onExternalChange: (c) => external.push(c),
    })
    open.push(again)
    expect(again.doc.text.toString()).toBe('zero\none\ntwo\nthree\n')
    expect(external).toEqual([]) // not a new change: the base says the file is as merged
    await again.close()
    await store.close()
  })

  it('reads a base written before formats were kept', async () => {
    const path = join(dir, 'old.txt')
    await writeFile(path, 'line\r\n')
    const { file } = await openFile(path)
    const state = file.doc.allTextOps() // the file's text, as imported
    await file.doc.insert(0, 'unsaved ')
    const docId = file.doc.docId
    await file.close()
    // The first layout: 64 hex digits of hash, then the tagged state (1 = every op as one batch).
    const hash = new TextEncoder().encode(hashBytes(await readFile(path)))
    const payload = new Uint8Array(64 + 1 + state.byteLength)
    payload.set(hash, 0)
    payload[64] = 1
    payload.set(state, 65)
    await writeFile(
      join(dataDir, 'bases', `${docId}.bin`),
      Buffer.concat(encodeSnapshotParts(0, [], payload)),
    )
    const { file: again, external } = await openFile(path)
    expect(again.format).toEqual({ encoding: 'utf8', eol: 'crlf' })
    expect(again.doc.text.toString()).toBe('unsaved line\n')
    expect(external).toEqual([])
    await again.save()
    expect(await readFile(path, 'utf8')).toBe('unsaved line\r\n')
  })

  it('keeps a file that a document was switched to apart from it until saved (the CLI’s join)', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'my old notes\n')
    const { file } = await openFile(path)
    const joined = await DurableDoc.open(new MemoryStore(backing), 'joined')
    await joined.insert(0, 'the shared document\n')
    await file.relink(joined)
    expect(file.doc.docId).toBe('joined')
    await file.close()
    const { file: again, external } = await openFile(path)
    expect(again.doc.docId).toBe('joined')
    expect(again.doc.text.toString()).toBe('the shared document\n')
    expect(external).toEqual([])
    await again.save()
    expect(await readFile(path, 'utf8')).toBe('the shared document\n')
  })
})

describe('LinkedFile never locks anyone out of a linked document', () => {
  it('merges an external change that holds NUL into a linked file, and opens one that is not text at all', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'one\n')
    const { file } = await openFile(path)
    await file.close()
    await writeFile(path, 'one\ntwo\u0000\n') // another program wrote a NUL
    const { file: merged, external } = await openFile(path)
    expect(merged.doc.text.toString()).toBe('one\ntwo\u0000\n')
    expect(external).toHaveLength(1)
    await merged.close()
    await writeFile(path, Buffer.from([0x6f, 0xff, 0xfe, 0x0a])) // not UTF-8 any more
    const { file: kept, errors } = await openFile(path)
    expect(kept.doc.text.toString()).toBe('one\ntwo\u0000\n')
    expect(errors.map((e) => e.code)).toEqual(['NOT_TEXT'])
    expect(errors[0]!.message).toMatch(/left as it is; saving it will replace the file/)
    await kept.save()
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\u0000\n')
  })
})

describe('LinkedFile on opening a file', () => {
  it('removes the file’s stale temp files, keeps younger ones and never touches other names', async () => {
    const path = join(dir, 'f.txt')
    await writeFile(path, 'text\n')
    const startedAt = Date.now() - 1000 // "this process started" a second ago
    const old = new Date(startedAt - 3600_000)
    const stale = ['.f.txt.0123abcd.meshpad-tmp', '.f.txt.89abcdef.meshpad-tmp']
    const others = [
      '.g.txt.0123abcd.meshpad-tmp',
      '.f.txt.0123ABCD.meshpad-tmp',
      '.f.txt.0123abcd.meshpad-tmp.orig',
      'f.txt.0123abcd.meshpad-tmp',
      '.f.txt.0123abcd.meshpad-tmp-1',
    ]
    for (const name of [...stale, ...others]) {
      await writeFile(join(dir, name), 'x')
      await utimes(join(dir, name), old, old)
    }
    const young = '.f.txt.00000000.meshpad-tmp' // written after the process started: maybe in progress
    await writeFile(join(dir, young), 'x')
    await openFile(path, { staleTempsBefore: startedAt })
    expect((await readdir(dir)).sort()).toEqual(['data', 'f.txt', young, ...others].sort())
  })

  it('removes what a crash left of its own atomic writes in the data dir', async () => {
    const path = join(dir, 'f.txt')
    await writeFile(path, 'text\n')
    await mkdir(join(dataDir, 'bases'), { recursive: true })
    const old = new Date(Date.now() - 3600_000)
    const leftovers = [
      join(dataDir, '.links.json.0123abcd.meshpad-tmp'),
      join(dataDir, 'bases', '.abc.bin.0123abcd.meshpad-tmp'),
      join(dataDir, 'bases', '.abc.next.bin.89abcdef.meshpad-tmp'),
    ]
    for (const p of leftovers) {
      await writeFile(p, 'x')
      await utimes(p, old, old)
    }
    const { file } = await openFile(path)
    await file.checkDisk() // after the background base write
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['links.json', 'bases']))
    expect((await readdir(dataDir)).filter((n) => n.endsWith('.meshpad-tmp'))).toEqual([])
    expect(await readdir(join(dataDir, 'bases'))).toEqual([`${file.doc.docId}.bin`])
  })

  it('adopts the document that an interrupted first open made, and only that one', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'the text\n')
    const nodeDir = join(dir, 'node')
    let node = await PeerNode.start({ dataDir: nodeDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    const ws = node.workspace
    const links = new FileLinks(nodeFs, nodeDir)
    const before = await ws.createDoc('') // an untitled document from before: never adopted
    const real = join(await realpath(dir), 'notes.txt')
    await links.intendToCreate(
      real,
      ws.openDocs().map((d) => d.docId),
    )
    const orphan = await ws.createDoc('notes.txt') // …and then the process died
    const stranger = await ws.createDoc('other.txt') // made meanwhile for another file
    await node.close()

    node = await PeerNode.start({ dataDir: nodeDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    try {
      const file = await LinkedFile.openWith(workspaceDocs(node), {
        path,
        links: new FileLinks(nodeFs, nodeDir),
        watch: false,
      })
      expect(file.docId).toBe(orphan.docId)
      expect(file.doc.text).toBe('the text\n')
      expect(
        node.workspace
          .openDocs()
          .map((d) => d.docId)
          .sort(),
      ).toEqual([before.docId, orphan.docId, stranger.docId].sort())
      const stored = JSON.parse(await readFile(join(nodeDir, 'links.json'), 'utf8')) as {
        links: Record<string, string>
        creating?: unknown
      }
      expect(stored).toEqual({ version: 1, links: { [real]: orphan.docId } })
      await file.close()
    } finally {
      await node.close()
    }
  })
})
