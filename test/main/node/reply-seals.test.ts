/**
 * A sync reply carries every seal its ops need, even one sent to that peer before: a peer drops what
 * arrives for a document it has not opened yet (a project's file, during a join: files open 8 at a
 * time), so a seal sent then never reached it. Found in the folder bench: ~8% of a joiner's files
 * never got their `format` property (its writer's claim had gone ahead of it, in a burst the joiner
 * read before opening the file), and their digests differed for ever, each side opening them again
 * every comparing round.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { fileDocId } from '../../../src/main/node/project-files'
import { createConnectedPair } from '../../../src/shared/sync/memory-pair'
import { ForwardingConnection } from '../../../src/shared/sync/forwarding-connection'
import { ROOT } from '../../../src/shared/tree/tree-ops'
import { fileDigest, sameDigest } from '../../../src/main/node/file-versions'
import { joinByInvite, nodesOfEachTest, until } from './cluster'

const node = nodesOfEachTest()

/**
 * One end of a connection whose incoming frames can be held and then handed over in one burst, as a
 * socket read hands over every frame it holds before anything else runs.
 */
class Burst extends ForwardingConnection {
  private held: Uint8Array[] | null = null
  private deliver: (frame: Uint8Array) => void = () => undefined

  override onMessage(callback: (frame: Uint8Array) => void): () => void {
    this.deliver = callback
    return this.inner.onMessage((frame) => (this.held ? this.held.push(frame) : callback(frame)))
  }

  hold(): void {
    this.held = []
  }

  /** Every frame held, handed over in one go. */
  release(): void {
    const frames = this.held ?? []
    this.held = null
    for (const frame of frames) this.deliver(frame)
  }
}

describe('seals in sync replies', () => {
  it('a file’s property, whose writer’s claim reached a peer before it had the file open, gets there', async () => {
    const ana = await node('ana')
    const ben = await node('ben')
    const project = await ana.ws.createDoc('project')
    const [first] = await project.changeTree((t) => t.create(ROOT, 'plan.md', 'file').op)
    await (await ana.ws.openFile(project, first!.node)).insert(0, 'plan\n')
    const [toBen, toAna] = createConnectedPair({
      keys: [ana.key, ben.key],
      handshakeHash: new Uint8Array(randomBytes(64)),
    })
    const bens = new Burst(toAna)
    ana.ws.attach(toBen)
    ben.ws.attach(bens)
    await until('hello', () => ben.ws.session(ana.self)?.ready === true)
    const code = await ana.ws.createInvite(project.docId, 'editor', [{ host: '127.0.0.1', port: 9 }])
    ben.ws.redeemWith(ben.ws.session(ana.self)!, decodeInvite(code))
    const firstId = fileDocId(project.docId, first!.node)
    await until('ben has plan.md', () => ben.ws.doc(firstId)?.text === 'plan\n')

    // Ana makes a file and sets its format: the property's writer is a replica ben has never seen, and
    // its claim goes ahead of the write. Ben reads all of it in one burst, behind the new tree node:
    // the file is not open on his side yet, so what is about it is dropped.
    bens.hold()
    const [made] = await project.changeTree((t) => t.create(ROOT, 'notes.md', 'file').op)
    const notes = await ana.ws.openFile(project, made!.node)
    await notes.setProp('format', { encoding: 'utf8', eol: 'crlf' })
    await new Promise((r) => setTimeout(r, 20))
    bens.release()
    const notesId = fileDocId(project.docId, made!.node)
    expect(
      ben.logs.some((l) =>
        l.includes(`dropped data for ${notesId.slice(0, 8)} from ${ana.self.slice(0, 8)}: not open here`),
      ),
    ).toBe(true)

    // Ben opens the file (a new node of the tree) and asks ana for it: her reply brings the claim again.
    await until(
      'ben has the file’s format',
      () =>
        JSON.stringify(ben.ws.doc(notesId)?.durable.props.get('format')) ===
        '{"encoding":"utf8","eol":"crlf"}',
    )
    expect(sameDigest(fileDigest(ben.ws.doc(notesId)!), fileDigest(notes))).toBe(true)
  })

  it('a file closed while idle still has the claim of the replica that wrote its property', async () => {
    let now = Date.now()
    const ana = await node('ana', () => now, { fileIdleMs: 1000 })
    const ben = await node('ben')
    const project = await ana.ws.createDoc('project')
    const [made] = await project.changeTree((t) => t.create(ROOT, 'notes.md', 'file').op)
    const notes = await ana.ws.openFile(project, made!.node)
    await notes.setProp('format', { encoding: 'utf16le', eol: 'lf' })
    const notesId = fileDocId(project.docId, made!.node)
    for (let i = 0; i < 5 && ana.ws.doc(notesId); i++) {
      now += 2000
      ana.ws.syncAll()
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(ana.ws.doc(notesId)).toBeUndefined()

    await joinByInvite(ana, ben, project.docId)
    await until(
      'ben has the file’s format',
      () =>
        JSON.stringify(ben.ws.doc(notesId)?.durable.props.get('format')) ===
        '{"encoding":"utf16le","eol":"lf"}',
    )
  })
})
