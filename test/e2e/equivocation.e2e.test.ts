/**
 * End to end, issue 12: a member that equivocates, against two real nodes with a Chromium window each.
 * Mallory, an editor played by a hand-driven client that speaks the real protocol (TCP + Noise), gives
 * Alice's node one history of her replica and Bob's another, each sealed; each side types beside her
 * characters. Once the nodes compare seals they flag her and settle on one version
 * (src/main/node/forks.ts): the node that held the other one rebuilds its text, and its window opens
 * the document again (ApiEvent 'reset'). Both windows then show the same text, with every honest
 * edit, and typing in the window that was rebuilt still reaches the other one.
 * Run `npm run build` first (npm test does).
 */
import { randomBytes } from 'node:crypto'
import type { BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DocSession } from '../../src/main/node/doc-session'
import { decodeInvite } from '../../src/main/node/invite-code'
import { streamDigest } from '../../src/main/node/provenance'
import { EMPTY_DIGEST, encodeSeals, makeSeal } from '../../src/main/node/replica-seal'
import { TextDoc } from '../../src/shared/crdt'
import { fromHex } from '../../src/shared/sync/hex'
import { Channel } from '../../src/shared/sync/messages'
import { connectMember, device, update, type ProtocolClient } from '../integration/protocol-client'
import { launchChromium } from '../support/chromium'
import { editorText, startSide, stopSide, typeAtEnd, until, type Side } from '../support/e2e'

describe('an equivocating member, two nodes, two windows', () => {
  let contexts: BrowserContext[] = []
  let a: Side
  let b: Side
  const clients: ProtocolClient[] = []

  beforeAll(async () => {
    contexts = await Promise.all([launchChromium(), launchChromium()])
    ;[a, b] = await Promise.all([startSide(contexts[0]!, 'alice'), startSide(contexts[1]!, 'bob')])
  })

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined)
    for (const context of contexts) await context.close()
    for (const side of [a, b]) await stopSide(side)
  })

  it('both windows end with one of her versions, every honest edit, and keep working', async () => {
    const aDoc = await a.node.workspace.createDoc('Equivocation')
    await aDoc.insert(0, 'Start.\n')
    const docId = aDoc.docId
    const code = await a.node.workspace.createInvite(docId, 'editor', a.node.addresses())
    const invite = decodeInvite(code)
    b.node.add(a.node.addresses()[0]!.host, a.node.port)
    await until(() => b.node.workspace.session(invite.inviterKey)?.ready === true, 'the session')
    b.node.workspace.redeemWith(b.node.workspace.session(invite.inviterKey)!, invite)
    await until(() => b.node.workspace.doc(docId)?.text === 'Start.\n', 'bob joined')
    const bDoc: DocSession = b.node.workspace.doc(docId)!
    for (const side of [a, b]) {
      await side.page.getByTestId('target').fill(docId)
      await side.page.getByTestId('open').click()
    }
    for (const side of [a, b]) await expect.poll(() => editorText(side.page)).toBe('Start.\n')

    const mallory = device('mallory')
    await aDoc.setMember(mallory.key, 'editor', mallory.name)
    await until(() => bDoc.roleOf(mallory.key) === 'editor', 'bob knows mallory')
    const atAlice = await connectMember(mallory, a.node.port, aDoc)
    const atBob = await connectMember(mallory, b.node.port, bDoc)
    clients.push(atAlice, atBob)

    // Two histories of one replica of hers: "AAA" to Alice's node, "BBB" to Bob's, at the same place.
    const claim = makeSeal(
      docId,
      fromHex(mallory.key),
      new Uint8Array(randomBytes(8)),
      0,
      EMPTY_DIGEST,
      mallory.sign,
    )
    const start = await aDoc.durable.textChangesSince({})
    const branches = ['AAA', 'BBB'].map((text) => {
      const t = new TextDoc(claim.replica)
      t.applyRemote(start)
      return { t, ops: t.localInsert(7, text) }
    })
    const sealOf = (t: TextDoc) => {
      const digest = streamDigest(t, claim.replica, 3)!
      return makeSeal(docId, claim.device, claim.nonce, 3, digest, mallory.sign)
    }
    for (const [i, c] of [atAlice, atBob].entries()) {
      c.send(update(docId, Channel.Seals, encodeSeals([claim])))
      c.send(update(docId, Channel.Text, branches[i]!.ops))
    }
    await expect.poll(() => editorText(a.page)).toBe('Start.\nAAA')
    await expect.poll(() => editorText(b.page)).toBe('Start.\nBBB')
    // Each side types right after her characters, in the version it holds.
    await aDoc.insert(10, '<alice>')
    await bDoc.insert(10, '<bob>')
    // Her seals: each valid where it goes; passed on, they meet.
    for (const [i, c] of [atAlice, atBob].entries())
      c.send(update(docId, Channel.Seals, encodeSeals([sealOf(branches[i]!.t)])))
    await until(
      () => [aDoc, bDoc].every((d) => d.equivocators().includes(mallory.key)) && aDoc.text === bDoc.text,
      'both nodes flag her and hold one text',
      15_000,
    )
    const text = aDoc.text
    expect(text).toContain('<alice>')
    expect(text).toContain('<bob>')
    expect(text.includes('AAA')).not.toBe(text.includes('BBB'))
    // Both windows show it: the one whose node rebuilt opened the document again.
    for (const side of [a, b]) await expect.poll(() => editorText(side.page), { timeout: 10_000 }).toBe(text)
    // And the windows still edit together, the rebuilt one included.
    const rebuilt = text.includes('AAA') ? b : a
    const other = rebuilt === a ? b : a
    await typeAtEnd(rebuilt.page, ' after')
    await expect.poll(() => editorText(other.page), { timeout: 10_000 }).toBe(text + ' after')
    for (const side of [a, b]) expect(side.errors).toEqual([])
  })
})
