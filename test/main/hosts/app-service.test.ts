/**
 * AppService under plain Node: the API a window sees, with its expected failures as ApiError values,
 * a window's replica registered as an author (when it opens the document), no echo of a window's own batches, and a closed
 * window's replica taken up by the next window.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiEvent, ApiResult } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { PeerNode } from '../../../src/main/node/peer-node'
import { AUTHOR_PREFIX } from '../../../src/main/node/signed-props'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

describe('AppService', () => {
  let node: PeerNode
  let service: AppService
  let one: AppClient
  let two: AppClient
  const seen: { one: ApiEvent[]; two: ApiEvent[] } = { one: [], two: [] }
  const dir = mkdtempSync(join(tmpdir(), 'meshpad-app-'))

  beforeAll(async () => {
    const dataDir = join(dir, 'data')
    node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    service = new AppService({ node, host: 'browser', version: 'test', dataDir, watchDebounceMs: 30 })
    one = service.connect((e) => seen.one.push(e))
    two = service.connect((e) => seen.two.push(e))
  })

  afterAll(async () => {
    service.close()
    await node.close()
  })

  it('describes the app and this device', async () => {
    const info = value(await one.appInfo())
    expect(info).toMatchObject({ name: 'Meshpad', host: 'browser', displayName: 'ada' })
    expect(info.deviceId).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
  })

  it('returns clear errors for bad requests', async () => {
    expect(await one.openDocument('nope')).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await one.openDocument('0'.repeat(32))).toMatchObject({ ok: false, code: 'NOT_FOUND' })
    expect(await one.openFile(join(dir, 'missing.txt'))).toMatchObject({ ok: false, code: 'STORAGE' })
    const doc = value(await one.newDocument('scratch'))
    expect(await one.save(doc.docId)).toMatchObject({ ok: false, code: 'STORAGE', message: /Save As/ })
    expect(await one.pushOps(doc.docId, new Uint8Array([255, 1, 2]))).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    })
  })

  it('applies a window batch, records its author, and sends it to the other window only', async () => {
    const file = join(dir, 'a.txt')
    writeFileSync(file, 'one\r\ntwo\r\n') // CRLF: kept on save
    const opened = value(await one.openFile(file))
    value(await two.openDocument(opened.docId))
    const replica = new TextDoc(opened.replica)
    replica.applyRemote(opened.state)
    expect(replica.toString()).toBe('one\ntwo\n')
    seen.one.length = 0
    seen.two.length = 0
    const batch = replica.localInsert(0, 'zero\n')
    const status = value(await one.pushOps(opened.docId, batch))
    expect(status.saved).toBe(false)
    expect(node.workspace.doc(opened.docId)!.text).toBe('zero\none\ntwo\n')
    expect(node.workspace.doc(opened.docId)!.authorOf(opened.replica)?.device).toBe(node.workspace.self)
    expect(seen.one.some((e) => e.type === 'ops')).toBe(false)
    expect(seen.two.some((e) => e.type === 'ops' && e.batch === batch)).toBe(true)
    expect(value(await one.save(opened.docId)).saved).toBe(true)
    expect(readFileSync(file, 'utf8')).toBe('zero\r\none\r\ntwo\r\n')
  })

  it("writes a window's author record when it opens the document, before its first keystroke", async () => {
    const doc = value(await one.newDocument('about to type'))
    const opened = value(await two.openDocument(doc.docId))
    const session = node.workspace.doc(doc.docId)!
    // The record itself, written and stored (authorOf would name this device's own replica without it).
    const record = (): unknown => session.durable.props.get(`${AUTHOR_PREFIX}${opened.replica}`)
    const deadline = Date.now() + 2_000
    while (record() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(record()).toMatchObject({ device: node.workspace.self, name: 'ada' })
    expect(session.textVersion()[opened.replica]).toBeUndefined()
  })

  it('gives a closed window’s replica to the next window, counters continuing, and applies nothing more from it', async () => {
    const doc = value(await one.newDocument('windows come and go'))
    const session = node.workspace.doc(doc.docId)!
    const before = Object.keys(session.textVersion())
    const first = service.connect(() => undefined)
    const opened = value(await first.openDocument(doc.docId))
    const editor = new TextDoc(opened.replica)
    editor.applyRemote(opened.state)
    value(await first.pushOps(doc.docId, editor.localInsert(0, 'ab')))
    const late = editor.localInsert(2, '?') // typed as the window went: never applied
    first.close()
    expect(await first.pushOps(doc.docId, late)).toMatchObject({ ok: false, code: 'CLOSED' })
    expect(session.text).toBe('ab')

    // A window that opens now (a reload, another window) takes the replica up, its counters after the
    // first window's last op applied here.
    const next = service.connect(() => undefined)
    const reopened = value(await next.openDocument(doc.docId))
    expect(reopened.replica).toBe(opened.replica)
    const again = new TextDoc(reopened.replica)
    again.applyRemote(reopened.state)
    value(await next.pushOps(doc.docId, again.localInsert(2, 'c')))
    expect(session.text).toBe('abc')
    expect(session.textVersion()[opened.replica]).toBe(3)
    // One replica for the two windows, beside those the document had.
    expect(Object.keys(session.textVersion()).filter((r) => !before.includes(r))).toEqual([opened.replica])
    // While it is open, another window gets a replica of its own.
    const third = service.connect(() => undefined)
    expect(value(await third.openDocument(doc.docId)).replica).not.toBe(opened.replica)
    next.close()
    third.close()
  })

  it('gives the same document when a file is opened again', async () => {
    const file = join(dir, 'b.txt')
    writeFileSync(file, 'first')
    const first = value(await one.openFile(file))
    expect(value(await one.listDocuments()).map((d) => d.docId)).toContain(first.docId)
    const again = value(await two.openFile(file))
    expect(again.docId).toBe(first.docId)
  })
})
