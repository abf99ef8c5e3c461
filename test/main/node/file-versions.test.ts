/**
 * `file-versions` (src/main/node/file-versions.ts; issue 15): peers compare what they hold of a
 * project's files by digest, many files to a message, and ask only about the files that differ. A
 * peer's digests are untrusted: an oversized or forged count is a protocol error that closes that one
 * connection (the node goes on, and the peer can connect again); files that are not the project's are
 * ignored with a log line; a device not authenticated for the project gets nothing for its digests.
 */
import { describe, expect, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { ByteWriter } from '../../../src/shared/crdt/bytes'
import { fromHex } from '../../../src/shared/sync/hex'
import {
  decodeMessage,
  encodeMessage,
  FILE_DIGEST_BYTES,
  MAX_FILE_VERSIONS,
  type Message,
} from '../../../src/shared/sync/messages'
import type { PeerConnection } from '../../../src/shared/sync/peer-connection'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { fileDigest, sameDigest } from '../../../src/main/node/file-versions'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { connect, until, type TestNode, nodesOfEachTest } from './cluster'

const node = nodesOfEachTest()

/** A project of `count` files, `f<i>.md` holding `file <i>`. */
async function project(owner: TestNode, count: number): Promise<{ doc: DocSession; files: DocSession[] }> {
  const doc = await owner.ws.createDoc('project')
  const files: DocSession[] = []
  for (let i = 0; i < count; i++) {
    const [op] = await doc.changeTree((t) => t.create(ROOT, `f${i}.md`, 'file').op)
    const file = await owner.ws.openFile(doc, op!.node)
    await file.insert(0, `file ${i}\n`)
    files.push(file)
  }
  return { doc, files }
}

/** `other` joins `owner`'s project as an editor; the two ends of their connection (owner's, other's). */
async function join(
  owner: TestNode,
  other: TestNode,
  docId: string,
): Promise<[PeerConnection, PeerConnection]> {
  const pair = connect(owner, other)
  await until('hello', () => other.ws.session(owner.self)?.ready === true)
  const code = await owner.ws.createInvite(docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
  other.ws.redeemWith(other.ws.session(owner.self)!, decodeInvite(code))
  await until('joined', () => other.ws.doc(docId)?.myRole === 'editor')
  return pair
}

/** The frames `conn`'s side receives, decoded, from now on. */
function received(conn: PeerConnection): Message[] {
  const out: Message[] = []
  conn.onMessage((frame) => out.push(decodeMessage(frame)))
  return out
}

/** A `file-versions` frame as a hostile peer may write it: `count` claimed, `entries` present. */
function rawFileVersions(projectId: string, count: number, entries: number): Uint8Array {
  const w = new ByteWriter(64)
  w.byte(encodeMessage({ type: 'file-versions', docId: projectId, files: [] })[0]!) // the type byte
  w.bytes(fromHex(projectId))
  w.uint(count)
  for (let i = 0; i < entries; i++) {
    w.bytes(fromHex(i.toString(16).padStart(32, '0')))
    w.bytes(new Uint8Array(FILE_DIGEST_BYTES))
  }
  return w.finish()
}

const fileRequests = (messages: readonly Message[], projectId: string): string[] =>
  messages.flatMap((m) => (m.type === 'sync-request' && m.docId !== projectId ? [m.docId] : []))

describe('file-versions', () => {
  it('a file’s digest is computed once per state: the same until the file changes', async () => {
    const ana = await node('ana')
    const { files } = await project(ana, 1)
    const file = files[0]!
    const first = fileDigest(file)
    expect(fileDigest(file)).toBe(first) // the one computed, not computed again
    await file.insert(0, 'more\n')
    const second = fileDigest(file)
    expect(sameDigest(second, first)).toBe(false)
    await file.setProp('format', 'utf-8')
    expect(sameDigest(fileDigest(file), second)).toBe(false)
  })

  it('after time apart, one exchange of digests: only the files that differ are asked about', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc, files } = await project(ana, 20)
    const [first] = await join(ana, ben, doc.docId)
    await until(
      'ben has every file',
      () => ben.ws.filesOf(doc.docId).filter((f) => f.text !== '').length === 20,
    )
    first.close('apart')
    await until(
      'apart',
      () => ana.ws.session(ben.self) === undefined && ben.ws.session(ana.self) === undefined,
    )
    for (const i of [2, 11, 17]) await files[i]!.insert(0, `edited while apart ${i}\n`)

    const [atAna, atBen] = connect(ana, ben)
    const fromBen = received(atAna)
    const fromAna = received(atBen)
    const edited = [2, 11, 17].map((i) => files[i]!.docId).sort()
    await until('ben has the edits', () =>
      [2, 11, 17].every((i) => ben.ws.doc(files[i]!.docId)?.text === files[i]!.text),
    )
    await new Promise((r) => setTimeout(r, 50))
    // Each side sent its digests of the 20 files in one message...
    expect(
      fromAna
        .filter((m) => m.type === 'file-versions')
        .map((m) => m.type === 'file-versions' && m.files.length),
    ).toEqual([20])
    expect(
      fromBen
        .filter((m) => m.type === 'file-versions')
        .map((m) => m.type === 'file-versions' && m.files.length),
    ).toEqual([20])
    // ...and asked about the three that differ, not about the twenty.
    expect(fileRequests(fromBen, doc.docId).sort()).toEqual(edited)
    expect(fileRequests(fromAna, doc.docId).sort()).toEqual(edited)
  })

  it('a list past MAX_FILE_VERSIONS, or a count larger than the message, closes that connection only', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc, files } = await project(ana, 2)
    const [, bens] = await join(ana, ben, doc.docId)
    await until(
      'ben has the files',
      () => ben.ws.filesOf(doc.docId).filter((f) => f.text !== '').length === 2,
    )

    bens.send(rawFileVersions(doc.docId, MAX_FILE_VERSIONS + 1, MAX_FILE_VERSIONS + 1))
    await until('ana closed it', () => ana.ws.session(ben.self) === undefined)
    expect(ana.logs.some((l) => l.includes(`more than ${MAX_FILE_VERSIONS}`))).toBe(true)

    const [, again] = connect(ana, ben)
    await until('authenticated again', () => ana.ws.session(ben.self)?.isAuthenticated(doc.docId) === true)
    again.send(rawFileVersions(doc.docId, 1_000_000, 2))
    await until('ana closed it again', () => ana.ws.session(ben.self) === undefined)
    expect(ana.logs.some((l) => l.includes('count 1000000 exceeds the data that follows'))).toBe(true)

    // The node goes on: connected again, an edit still reaches ben.
    connect(ana, ben)
    await files[1]!.insert(0, 'after the attack\n')
    await until('ben has the edit', () => ben.ws.doc(files[1]!.docId)?.text === files[1]!.text)
  })

  it('a joiner does not take the digests that come ahead of the project’s tree for files of another project', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc } = await project(ana, 3)
    await join(ana, ben, doc.docId)
    await until(
      'ben has the files',
      () => ben.ws.filesOf(doc.docId).filter((f) => f.text !== '').length === 3,
    )
    expect(ben.logs.filter((l) => l.includes('are not files of project'))).toEqual([])
  })

  it('ignores files that are not the project’s, with a log line, and keeps the connection', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const { doc } = await project(ana, 2)
    const other = await project(ana, 1)
    const [atAna, atBen] = await join(ana, ben, doc.docId)
    await until(
      'ben has the files',
      () => ben.ws.filesOf(doc.docId).filter((f) => f.text !== '').length === 2,
    )
    const open = (): number => ana.ws.filesOf(doc.docId).length + ana.ws.filesOf(other.doc.docId).length
    const before = open()
    const fromBen = received(atAna)
    const zero = new Uint8Array(FILE_DIGEST_BYTES)
    // Made-up IDs, the project's own ID, a file of another project of ana's: none is a file of this one.
    const forged = [
      ...Array.from({ length: 50 }, (_, i) => ({ file: i.toString(16).padStart(32, '0'), digest: zero })),
      { file: doc.docId, digest: zero },
      { file: other.files[0]!.docId, digest: zero },
    ]
    atBen.send(encodeMessage({ type: 'file-versions', docId: doc.docId, files: forged }))
    await until('ana logged it', () =>
      ana.logs.some((l) => l.includes('52 of 52 files are not files of project')),
    )
    expect(open()).toBe(before)
    expect(ana.ws.session(ben.self)).toBeDefined()
    await new Promise((r) => setTimeout(r, 30))
    expect(fileRequests(fromBen, doc.docId)).toEqual([])
  })

  it('a device not authenticated for the project gets nothing for its digests', async () => {
    const ana = await node('ana')
    const eve = await node('eve')
    const { doc, files } = await project(ana, 2)
    const [atAna, atEve] = connect(ana, eve)
    await until('hello', () => eve.ws.session(ana.self)?.ready === true)
    const toEve = received(atEve)
    const real = files.map((f) => ({ file: f.docId, digest: new Uint8Array(FILE_DIGEST_BYTES) }))
    atEve.send(encodeMessage({ type: 'file-versions', docId: doc.docId, files: real }))
    await until('ana dropped it', () => ana.logs.some((l) => l.includes('dropped file-versions')))
    await new Promise((r) => setTimeout(r, 30))
    expect(toEve.filter((m) => m.type === 'sync-request' || m.type === 'sync-reply')).toEqual([])
    expect(atAna.closed).toBe(false)
  })
})
