/**
 * Files round-trip exactly through the app API (issue 17): AppService over a real PeerNode and data dir,
 * restarted between saves like the app is. The full table (test/support/round-trip-table.ts: 4
 * encodings × 4 line endings × 5 kinds of text = 80 files) is opened, edited through a window's
 * replica, saved, and then the node restarts twice (the second time without the stored merge bases,
 * so the "in step" comparison is what recognises the file); after each start the document's text must
 * be exactly as before and each save must write exactly the expected bytes. The CLI runs a
 * representative subset of the same table (test/integration/file-round-trip.test.ts).
 *
 * Also: Save As keeps the format, an external change in CRLF is merged and the file keeps CRLF, the
 * first Save As of an untitled document, and stale temp files beside a file.
 */
import { mkdtempSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ApiEvent, ApiResult, OpenedDoc } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { decodeWire, encodeWireParts } from '../../../src/shared/wire-json'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { PeerNode } from '../../../src/main/node/peer-node'
import { describeBytes, fullTable, makeRow, type RoundTripRow } from '../../support/round-trip-table'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

const dir = mkdtempSync(join(tmpdir(), 'meshpad-app-files-'))
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** One start of the app: a node on the data dir, the service, one window. */
class App {
  readonly events: ApiEvent[] = []
  readonly window: AppClient
  private constructor(
    readonly node: PeerNode,
    readonly service: AppService,
  ) {
    this.window = service.connect((e) => this.events.push(e))
  }

  static async start(dataDir: string): Promise<App> {
    const node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    return new App(
      node,
      new AppService({ node, host: 'browser', version: 'test', dataDir, watchDebounceMs: 30 }),
    )
  }

  /** The window's replica of an opened document. */
  replica(opened: OpenedDoc): TextDoc {
    const doc = new TextDoc(opened.replica)
    doc.applyRemote(opened.state)
    return doc
  }

  async stop(): Promise<void> {
    this.window.close()
    this.service.close()
    await this.node.close()
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function expectBytes(path: string, expected: Uint8Array, what: string): Promise<void> {
  const actual = new Uint8Array(await readFile(path))
  if (Buffer.compare(actual, expected) !== 0) throw new Error(`${what}: ${describeBytes(actual, expected)}`)
}

describe('files round-trip exactly through the app API', () => {
  const rows = fullTable()
  const dataDir = join(dir, 'table-data')
  const fileOf = (row: RoundTripRow): string => join(dir, `${row.name.replaceAll(' ', '_')}.txt`)
  let app: App | null = null
  afterEach(async () => {
    await app?.stop()
    app = null
  })

  it(`opens, edits and saves ${rows.length} files (every encoding × line ending × kind of text)`, async () => {
    app = await App.start(dataDir)
    for (const row of rows) {
      await writeFile(fileOf(row), row.initialBytes)
      const opened = value(await app.window.openFile(fileOf(row)))
      const replica = app.replica(opened)
      expect(replica.toString(), `${row.name}: opened`).toBe(row.openedText)
      value(await app.window.pushOps(opened.docId, replica.localInsert(row.edit.index, row.edit.text)))
      expect(app.node.workspace.doc(opened.docId)!.text, row.name).toBe(row.editedText)
      expect(value(await app.window.save(opened.docId)).saved, `${row.name}: saved`).toBe(true)
      await expectBytes(fileOf(row), row.savedBytes, `${row.name}: first save`)
    }
  })

  for (const [restart, dropBases] of [
    ['first', false],
    ['second, without the stored bases', true],
  ] as const) {
    it(`reopens every file unchanged after the ${restart} restart, and saves the same bytes`, async () => {
      if (dropBases) await rm(join(dataDir, 'bases'), { recursive: true, force: true })
      app = await App.start(dataDir)
      for (const row of rows) {
        const opened = value(await app.window.openFile(fileOf(row)))
        expect(app.replica(opened).toString(), `${row.name}: reopened`).toBe(row.editedText)
        expect(value(await app.window.status(opened.docId)).saved, `${row.name}: saved on open`).toBe(true)
        expect(value(await app.window.save(opened.docId)).saved).toBe(true)
        expect(app.node.workspace.doc(opened.docId)!.text, `${row.name}: after save`).toBe(row.editedText)
        await expectBytes(fileOf(row), row.savedBytes, `${row.name}: save after the ${restart} restart`)
      }
    })
  }
})

describe('the app keeps a file in its format', () => {
  let app: App | null = null
  afterEach(async () => {
    await app?.stop()
    app = null
  })

  it('keeps CRLF typed into an LF file, and does not rewrite it on open', async () => {
    const dataDir = join(dir, 'crlf-data')
    const file = join(dir, 'typed-crlf.txt')
    await writeFile(file, '') // an empty file is UTF-8 with LF
    app = await App.start(dataDir)
    let opened = value(await app.window.openFile(file))
    const replica = app.replica(opened)
    value(await app.window.pushOps(opened.docId, replica.localInsert(0, 'a\r\nb\r\n')))
    value(await app.window.save(opened.docId))
    expect(await readFile(file, 'latin1')).toBe('a\r\nb\r\n')
    let written = (await stat(file)).mtimeMs
    await app.stop()
    for (let i = 0; i < 2; i++) {
      app = await App.start(dataDir)
      opened = value(await app.window.openFile(file))
      expect(app.replica(opened).toString()).toBe('a\r\nb\r\n')
      expect((await stat(file)).mtimeMs, 'the open wrote the file').toBe(written)
      value(await app.window.save(opened.docId))
      expect(await readFile(file, 'latin1')).toBe('a\r\nb\r\n')
      written = (await stat(file)).mtimeMs
      await app.stop()
    }
    app = null
  })

  it('reopens a document with a NUL typed into it, and a UTF-8 file whose text starts with U+FEFF', async () => {
    const dataDir = join(dir, 'nul-data')
    const file = join(dir, 'nul.txt')
    const bom = join(dir, 'bom.txt')
    await writeFile(file, 'x')
    await writeFile(bom, 'y')
    app = await App.start(dataDir)
    for (const [path, insert] of [
      [file, 'a\u0000b'],
      [bom, '\uFEFF'],
    ] as const) {
      const opened = value(await app.window.openFile(path))
      value(await app.window.pushOps(opened.docId, app.replica(opened).localInsert(0, insert)))
      value(await app.window.save(opened.docId))
    }
    expect(await readFile(file)).toEqual(Buffer.from('a\u0000bx'))
    expect(await readFile(bom)).toEqual(Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x79]))
    await app.stop()
    app = await App.start(dataDir)
    expect(app.replica(value(await app.window.openFile(file))).toString()).toBe('a\u0000bx')
    expect(app.replica(value(await app.window.openFile(bom))).toString()).toBe('\uFEFFy')
    // A never-seen file with NUL bytes is still refused as binary.
    await writeFile(join(dir, 'binary.bin'), Buffer.from([0x89, 0x50, 0x00, 0x01]))
    expect(await app.window.openFile(join(dir, 'binary.bin'))).toMatchObject({
      ok: false,
      code: 'STORAGE',
      message: expect.stringMatching(/NUL/),
    })
  })

  it('Save As to a new path keeps the encoding and line endings, and moves the link', async () => {
    const dataDir = join(dir, 'save-as-data')
    const row = makeRow('utf16be', 'crlf', 'astral')
    const file = join(dir, 'source.txt')
    const copy = join(dir, 'copy.txt')
    await writeFile(file, row.initialBytes)
    app = await App.start(dataDir)
    const opened = value(await app.window.openFile(file))
    value(
      await app.window.pushOps(opened.docId, app.replica(opened).localInsert(row.edit.index, row.edit.text)),
    )
    const status = value(await app.window.saveAs(opened.docId, copy))
    expect(status).toMatchObject({ path: copy, saved: true })
    await expectBytes(copy, row.savedBytes, 'Save As')
    await expectBytes(file, row.initialBytes, 'the original')
    await app.stop()
    app = await App.start(dataDir)
    const again = value(await app.window.openFile(copy))
    expect(again.docId).toBe(opened.docId)
    expect(app.replica(again).toString()).toBe(row.editedText)
    value(await app.window.save(again.docId))
    await expectBytes(copy, row.savedBytes, 'save after reopening the copy')
  })

  it('gives an untitled document a file with its first Save As, then reopens it from there', async () => {
    const dataDir = join(dir, 'untitled-data')
    const file = join(dir, 'untitled.txt')
    app = await App.start(dataDir)
    const doc = value(await app.window.newDocument(''))
    expect(await app.window.save(doc.docId)).toMatchObject({ ok: false, message: /Save As/ })
    value(await app.window.pushOps(doc.docId, app.replica(doc).localInsert(0, 'new\r\ntext\n')))
    expect(value(await app.window.saveAs(doc.docId, file))).toMatchObject({ path: file, saved: true })
    expect(await readFile(file, 'latin1')).toBe('new\r\ntext\n')
    await app.stop()
    app = await App.start(dataDir)
    const opened = value(await app.window.openFile(file))
    expect(opened.docId).toBe(doc.docId)
    expect(app.replica(opened).toString()).toBe('new\r\ntext\n')
  })

  it('merges an external change to a CRLF file as CRLF, with unsaved edits kept, and saves CRLF', async () => {
    const dataDir = join(dir, 'watch-data')
    const file = join(dir, 'watched.txt')
    await writeFile(file, 'one\r\ntwo\r\n')
    app = await App.start(dataDir)
    const opened = value(await app.window.openFile(file))
    const replica = app.replica(opened)
    expect(replica.toString()).toBe('one\ntwo\n')
    value(await app.window.pushOps(opened.docId, replica.localInsert(0, 'typed\n')))
    // Another editor saves by rename, in CRLF.
    await writeFile(`${file}.other~`, 'one\r\ntwo\r\nthree\r\n')
    await rename(`${file}.other~`, file)
    const session = app.node.workspace.doc(opened.docId)!
    await until(() => session.text === 'typed\none\ntwo\nthree\n', 'the merge')
    await until(
      () => app!.events.some((e) => e.type === 'ops' && e.docId === opened.docId),
      'the merged ops sent to the window',
    )
    expect(value(await app.window.status(opened.docId)).saved).toBe(false)
    value(await app.window.save(opened.docId))
    expect(await readFile(file, 'latin1')).toBe('typed\r\none\r\ntwo\r\nthree\r\n')
    // Merged while closed too: the stored base makes it a three-way merge, not "the file wins".
    value(
      await app.window.pushOps(
        opened.docId,
        app.replica(value(await app.window.openDocument(opened.docId))).localInsert(0, 'unsaved '),
      ),
    )
    await app.stop()
    await writeFile(file, 'typed\r\none\r\ntwo\r\nthree\r\nfour\r\n')
    app = await App.start(dataDir)
    const again = value(await app.window.openFile(file))
    expect(app.replica(again).toString()).toBe('unsaved typed\none\ntwo\nthree\nfour\n')
    value(await app.window.save(again.docId))
    expect(await readFile(file, 'latin1')).toBe('unsaved typed\r\none\r\ntwo\r\nthree\r\nfour\r\n')
  })

  it('a file another program saves again and again: its changes come as one replica of this device, across restarts', async () => {
    const dataDir = join(dir, 'saves-data')
    const file = join(dir, 'saved-often.txt')
    await writeFile(file, 'v0\n')
    app = await App.start(dataDir)
    const docId = value(await app.window.openFile(file)).docId
    const saved = async (v: number): Promise<string[]> => {
      await writeFile(file, `v${v}\n`)
      const session = app!.node.workspace.doc(docId)!
      await until(() => session.text === `v${v}\n`, `save ${v} merged`)
      return Object.keys(session.textVersion()).sort()
    }
    const first = await saved(1)
    expect(first).toHaveLength(2) // the import's, and the disk merges'
    for (let v = 2; v <= 6; v++) expect(await saved(v)).toEqual(first)
    await app.stop()
    app = await App.start(dataDir)
    value(await app.window.openFile(file))
    expect(await saved(7)).toEqual(first)
  })

  it('removes its own stale temp files beside a file it opens, and nothing else', async () => {
    const dataDir = join(dir, 'temps-data')
    const folder = join(dir, 'temps')
    await rm(folder, { recursive: true, force: true })
    await mkdir(folder)
    const file = join(folder, 'f.txt')
    await writeFile(file, 'text\n')
    const old = new Date(Date.now() - 3600_000)
    const stale = ['.f.txt.0123abcd.meshpad-tmp', '.f.txt.deadbeef.meshpad-tmp']
    const others = [
      '.g.txt.0123abcd.meshpad-tmp', // another file's
      '.f.txt.0123ABCD.meshpad-tmp', // not the pattern
      'f.txt.0123abcd.meshpad-tmp',
      '.f.txt.0123abcd.meshpad-tmp.bak',
      'notes.txt',
    ]
    for (const name of [...stale, ...others]) {
      await writeFile(join(folder, name), 'x')
      await utimes(join(folder, name), old, old)
    }
    // Written after this process started: maybe another process's save in progress.
    await writeFile(join(folder, '.f.txt.0badf00d.meshpad-tmp'), 'in progress')
    app = await App.start(dataDir)
    value(await app.window.openFile(file))
    expect((await readdir(folder)).sort()).toEqual(['f.txt', '.f.txt.0badf00d.meshpad-tmp', ...others].sort())
  })
})

describe('a large file through the app API and the browser-mode wire', () => {
  let app: App | null = null
  afterEach(async () => {
    await app?.stop()
    app = null
  })

  it('opens, edits and saves a 6 MB UTF-8 CRLF file with a BOM byte for byte, and reopens it as saved', async () => {
    // Big enough that its batches take the encoder's buffer whole and its state is sent in place;
    // with two-, three- and four-byte characters, so that no step may assume ASCII.
    const line = (i: number): string => `${i}: let café = prix * 2 € // ok 😀 ${'x'.repeat(i % 40)}`
    const lines: string[] = []
    let size = 0
    for (let i = 0; size < 6 * 1024 * 1024; i++) {
      lines.push(line(i))
      size += line(i).length + 2
    }
    const text = lines.join('\n')
    const fileBytes = (t: string): Uint8Array =>
      new Uint8Array(Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(t.replaceAll('\n', '\r\n'))]))
    const dataDir = join(dir, 'large-data')
    const file = join(dir, 'large.txt')
    await writeFile(file, fileBytes(text))
    app = await App.start(dataDir)
    // The reply as the page gets it: sent in parts, received as one frame.
    const parts = encodeWireParts({ kind: 'reply', id: 1, result: await app.window.openFile(file) })
    const frame = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      frame.set(p, at)
      at += p.length
    }
    const reply = decodeWire(frame) as { result: ApiResult<OpenedDoc> }
    const opened = value(reply.result)
    const replica = app.replica(opened)
    expect(replica.toString()).toBe(text)
    const middle = text.indexOf('\n', text.length >> 1) + 1
    value(await app.window.pushOps(opened.docId, replica.localInsert(middle, 'inserted € line\n')))
    value(await app.window.pushOps(opened.docId, replica.localDelete(3, 5)))
    const edited = replica.toString()
    expect(value(await app.window.save(opened.docId)).saved).toBe(true)
    await expectBytes(file, fileBytes(edited), 'saved')
    await app.stop()
    app = await App.start(dataDir)
    const again = value(await app.window.openFile(file))
    expect(again.docId).toBe(opened.docId)
    expect(again.status.saved).toBe(true)
    expect(app.replica(again).toString()).toBe(edited)
    value(await app.window.save(again.docId))
    await expectBytes(file, fileBytes(edited), 'saved again')
  }, 60_000)
})
