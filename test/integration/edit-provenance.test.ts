/**
 * "Trust no member" (issue 12), attack 4: edits bound to their author (src/main/node/provenance.ts),
 * against whole nodes over TCP + Noise on 127.0.0.1, with a member played by a hand-driven client that
 * speaks the real protocol (test/integration/protocol-client.ts).
 *
 * Topology: owner — ed — carol (carol is not connected to the owner: the owner's edits reach her only
 * through ed, vouched for by the owner's seal); mallory, an editor, is connected to ed and to carol.
 *
 * 1. Mallory sends ops under the owner's replica with its next counters, live and in a sync reply:
 *    never applied; the owner's real edits reach everyone; history credits the owner only with its own
 *    text. A seal that names the owner's key but is signed by mallory is malformed: she loses access.
 * 2. The owner's edits reach carol through ed (ed asks the owner for a seal), and carol attributes them
 *    to the owner's device.
 * 3. Mallory sends two different histories of her own replica to ed and to carol, each sealed, and ed
 *    and carol type right after her characters: once the two compare seals, both flag her and take
 *    nothing more of hers, the two seals, passed on as evidence, make the owner flag her too, and all
 *    three settle on the same one of her versions (forks.ts): one text, with every honest edit.
 * 4. Property writes (src/main/node/signed-props.ts): mallory sets the title under the owner's replica
 *    with its next counter (live), and names the owner's replica "Mallory" under her own bound replica,
 *    signed by her (in a sync reply): neither is applied, each cuts her off; the owner's next title
 *    reaches carol through ed, its signature checked at each, and history still names the owner.
 * 5. Withholding: mallory sends her edits to ed only and never seals them when asked, and ed types
 *    right after them. Ed (which passed them on) and carol (which holds them, and to which mallory is
 *    connected) flag her as withholding; the owner, to which she is not connected, does not. Ed then
 *    signs the stream he took from her (an attested version, forks.ts): carol and the owner take it,
 *    and ed's edit typed beside hers with it, so all three hold one text. Once she seals, the flag goes.
 * 6. Mallory sends, under her own bound replica, an insert whose right origin comes before its left
 *    one, while ed and carol type at that place: every peer places it alike, as if it named no right
 *    origin, and their texts stay equal (before, each placed it by what it had received first, and
 *    they diverged for good).
 * 7. Mallory attests a made-up tail of the owner's replica (past the counters it used) while the owner
 *    types: every peer, the owner too, takes the tail, shows it as attested by her, and the owner's
 *    edits go on past its counters, so none is dropped as a duplicate and all hold one text.
 * 8. Mallory sends, under four replicas of her own, inserts one of which names origins that were never
 *    neighbours, to ed in one order and to carol in another: integration depends on the order there,
 *    so the two held the same ops in different sequences for good. Their sync requests now carry a
 *    digest of the sequence; they notice, rebuild in canonical order (src/main/node/text-order.ts),
 *    and all three hold one text, the one the canonical order gives.
 * 9. As 7, against a window's replica while the window types: its keystrokes arrive under counters the
 *    owner took from her tail meanwhile. They are typed again where the window made them (retype.ts),
 *    so none is lost, and the window is told to open the text again.
 * 10. Mallory sends, under her own bound replica (taken from her on the direct path, so only the batch's
 *    replica table is read before it is applied), batches whose table is sound but whose ops are not:
 *    a byte cut off (to ed), a byte too many (to carol). Each is malformed: nothing applied, stored or
 *    relayed, and each of her connections loses the document; the honest edits go on.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { DocSession } from '../../src/main/node/doc-session'
import { streamDigest } from '../../src/main/node/provenance'
import {
  decodeSeals,
  EMPTY_DIGEST,
  encodeSeals,
  makeSeal,
  sealPayload,
  type Seal,
} from '../../src/main/node/replica-seal'
import { propSigner } from '../../src/main/node/signed-props'
import { attestPayload, encodeVersions, versionDigest } from '../../src/main/node/versions'
import { LwwMap, TextDoc } from '../../src/shared/crdt'
import { InsertOp } from '../../src/shared/crdt/ops'
import { encodeTextOps } from '../../src/shared/crdt/text-codec'
import { fromHex } from '../../src/shared/sync/hex'
import { Channel } from '../../src/shared/sync/messages'
import { connectMember, device, processed, ProtocolClient, update, type Device } from './protocol-client'
import { TcpCluster, type TcpNode } from './tcp-nodes'
import { sameVersion, sleep, until } from './util'

const log = (line: string): void => console.log(`[edit-provenance] ${line}`)
const EMPTY = new Uint8Array(0)
const clients: ProtocolClient[] = []

async function connectAs(dev: Device, node: TcpNode, doc: DocSession): Promise<ProtocolClient> {
  const c = await connectMember(dev, node.node.port, doc)
  clients.push(c)
  return c
}

/**
 * Mallory writes 'MADE UP' under `replica` (one of the owner's) past its counter, and signs, as an
 * attester, that she took it from the owner: sent to `to`. The replica's counter before and after it.
 */
function attestMadeUpTail(
  doc: DocSession,
  replica: string,
  mallory: Device,
  to: ProtocolClient,
): { m: number; n: number } {
  const claim = doc.durable
    .seals()
    .flatMap((b) => decodeSeals(b))
    .find((x) => x.replica === replica)!
  const fake = new TextDoc(replica)
  fake.applyRemote(doc.durable.allTextOps())
  const m = fake.seenOf(replica)
  fake.localInsert(fake.length, 'MADE UP')
  const n = fake.seenOf(replica)
  const digest = streamDigest(fake, replica, n)!
  const signature = mallory.sign(attestPayload(doc.docId, replica, n, digest, fromHex(mallory.key)))
  const lie = { seal: { ...claim, counter: n, digest, signature }, ops: fake.changesSince({}), held: true }
  to.send(update(doc.docId, Channel.Versions, encodeVersions([{ ...lie, attester: fromHex(mallory.key) }])))
  return { m, n }
}

function expectInStep(docs: readonly DocSession[]): void {
  const [a, ...rest] = docs
  for (const d of rest) {
    expect(d.text).toBe(a!.text)
    expect(d.textVersion()).toEqual(a!.textVersion())
  }
}

describe('edits bound to their author, over TCP + Noise on 127.0.0.1', () => {
  const cluster = new TcpCluster()
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)))
    await cluster.closeAll()
  })
  afterAll(() => cluster.closeAll())
  /** Anti-entropy now, on every node (the tests' nodes run none of their own). */
  const syncAll = (): void => {
    for (const n of cluster.nodes) n.node.workspace.syncAll()
  }

  /** owner — ed — carol, and mallory (an editor) connected to ed and carol. */
  async function setUp(text: string, options: { sealWaitMs?: number } = {}) {
    const owner = await cluster.start('owner', options)
    const ed = await cluster.start('ed', options)
    const carol = await cluster.start('carol', options)
    const doc = await cluster.createDoc(owner, text)
    const edDoc = await cluster.join(owner, ed, doc.docId, 'owner') // an owner, so it can invite carol
    const carolDoc = await cluster.join(ed, carol, doc.docId)
    // Carol reached the document through ed; she never dials the owner.
    expect(carol.node.workspace.session(owner.self)).toBeUndefined()
    const mallory = device('mallory')
    await doc.setMember(mallory.key, 'editor', mallory.name)
    await until(
      'all know mallory',
      () => [edDoc, carolDoc].every((d) => d.roleOf(mallory.key) === 'editor'),
      10_000,
    )
    const atEd = await connectAs(mallory, ed, edDoc)
    const atCarol = await connectAs(mallory, carol, carolDoc)
    return { owner, ed, carol, doc, edDoc, carolDoc, mallory, atEd, atCarol }
  }

  it('1. ops under the owner’s replica, live or in a sync reply, are never applied; the owner’s edits still reach everyone', async () => {
    const { owner, ed, doc, edDoc, carolDoc, mallory, atEd, atCarol } = await setUp('The owner’s text.\n')
    const replica = doc.durable.replica
    const next = doc.durable.text.seenOf(replica) + 1
    // Mallory knows the document (she is a member): she forges the owner's next ops.
    const forge = new TextDoc(replica)
    forge.applyRemote(doc.durable.allTextOps())
    const forged = forge.localInsert(0, 'FORGED ')
    atCarol.send(update(doc.docId, Channel.Text, forged))
    atEd.send({ type: 'sync-reply', docId: doc.docId, batches: [forged, EMPTY, EMPTY, EMPTY] })
    await Promise.all([processed(atEd), processed(atCarol)])
    await sleep(300)
    for (const d of [doc, edDoc, carolDoc]) {
      expect(d.text).not.toContain('FORGED')
      expect(d.durable.text.seenOf(replica)).toBe(next - 1)
    }
    // The owner's real next edit takes those counters: it is applied everywhere.
    await doc.insert(0, 'real ')
    await until(
      'everyone has the owner’s edit',
      () => [edDoc, carolDoc].every((d) => d.text === doc.text),
      10_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    for (const d of [edDoc, carolDoc]) {
      const credited = d.durable.text
        .history()
        .filter((e) => e.replica === replica && e.kind === 'insert')
        .map((e) => (e.kind === 'insert' ? e.text : ''))
        .join('')
      expect(credited).toContain('real ')
      expect(credited).not.toContain('FORGED')
      expect(d.authorOf(replica)?.device).toBe(owner.self)
    }
    // A seal naming the owner's device but signed by mallory: malformed, and she loses the document.
    const nonce = new Uint8Array(randomBytes(8))
    const claim = makeSeal(doc.docId, fromHex(owner.self), nonce, 0, EMPTY_DIGEST, mallory.sign)
    atEd.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    await until('ed cuts mallory off', () => ed.log.lines.some((l) => /malformed seals/.test(l)), 5_000)
    expect(ed.node.workspace.session(mallory.key)?.isAuthenticated(doc.docId)).toBe(false)
    log(`forged ops held and never applied; owner's edit everywhere; a forged seal cut mallory off`)
  })

  it('2. the owner’s edits reach carol through ed, sealed by the owner on ed’s request', async () => {
    // Asked to seal as it types, the owner answers each time: it is never taken for withholding.
    const { owner, doc, edDoc, carolDoc } = await setUp('Relayed.\n', { sealWaitMs: 1_500 })
    const started = performance.now()
    for (let i = 0; i < 20; i++) await doc.insert(doc.text.length, String.fromCharCode(97 + i))
    await until('carol has every keystroke', () => carolDoc.text === doc.text, 10_000)
    log(`20 owner keystrokes reached carol through ed in ${(performance.now() - started).toFixed(0)} ms`)
    // Typing on for longer than the wait allowed, each keystroke passed on by ed, which asks for a seal.
    for (let i = 0; i < 25; i++) {
      await doc.insert(doc.text.length, String.fromCharCode(65 + i))
      await sleep(100)
    }
    await until('carol has every keystroke', () => carolDoc.text === doc.text, 10_000)
    for (const n of cluster.nodes) n.node.workspace.syncAll()
    await sleep(100)
    expect([edDoc.withholders(), carolDoc.withholders()]).toEqual([[], []])
    expect(carolDoc.authorOf(doc.durable.replica)?.device).toBe(owner.self)
    expect(sameVersion(carolDoc.textVersion(), doc.textVersion())).toBe(true)
  })

  it('3. two different sealed histories of one replica, sent to two peers: all flag the author and settle on one', async () => {
    const { doc, edDoc, carolDoc, mallory, atEd, atCarol } = await setUp('Equivocation.\n')
    const nonce = new Uint8Array(randomBytes(8))
    const claim = makeSeal(doc.docId, fromHex(mallory.key), nonce, 0, EMPTY_DIGEST, mallory.sign)
    const sealOf = (branch: TextDoc, counter: number): Seal => {
      const digest = streamDigest(branch, claim.replica, counter)!
      const signature = mallory.sign(sealPayload(doc.docId, claim.replica, counter, digest))
      return { ...claim, counter, digest, signature }
    }
    const a = new TextDoc(claim.replica)
    const b = new TextDoc(claim.replica)
    const toEd = a.localInsert(0, 'AAA')
    const toCarol = b.localInsert(0, 'BBB')
    atEd.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    atEd.send(update(doc.docId, Channel.Text, toEd))
    atCarol.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    atCarol.send(update(doc.docId, Channel.Text, toCarol))
    await until(
      'each took its branch',
      () => edDoc.text.includes('AAA') && carolDoc.text.includes('BBB'),
      5_000,
    )
    // Each types right after her characters: ed's and carol's inserts name the same IDs of hers as
    // their origin, which stand for different characters on each side.
    await edDoc.insert(edDoc.text.indexOf('AAA') + 2, '<ed>')
    await carolDoc.insert(carolDoc.text.indexOf('BBB') + 2, '<carol>')
    // Each gets the seal of its own branch: valid there; each passes it on to the other.
    atEd.send(update(doc.docId, Channel.Seals, encodeSeals([sealOf(a, 3)])))
    atCarol.send(update(doc.docId, Channel.Seals, encodeSeals([sealOf(b, 3)])))
    await until(
      'ed and carol flag mallory',
      () => [edDoc, carolDoc].every((d) => d.equivocators().includes(mallory.key)),
      10_000,
    )
    // The two seals are proof anyone can check: passed on, the owner (who talks to neither branch's
    // recipient but ed) flags her too.
    await until('the owner flags mallory', () => doc.equivocators().includes(mallory.key), 10_000)
    // All three hold the same one of her two versions (the better seal), and every honest edit, placed
    // the same way against it.
    const winner = [sealOf(a, 3), sealOf(b, 3)].sort((x, y) => Buffer.compare(x.digest, y.digest))[0]!
    const kept = winner.digest.every((x, i) => x === sealOf(a, 3).digest[i]) ? 'AAA' : 'BBB'
    await until(
      () => `one text everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text])}`,
      () => [edDoc, carolDoc].every((d) => d.text === doc.text),
      10_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    const kept2 = kept === 'AAA' ? 'BBB' : 'AAA'
    for (const d of [doc, edDoc, carolDoc]) {
      expect(d.text).toContain('<ed>')
      expect(d.text).toContain('<carol>')
      expect(d.text.replace(/<ed>|<carol>/g, '')).toContain(kept)
      expect(d.text).not.toContain(kept2[0])
    }
    log(`ed, carol and the owner flagged mallory and hold one text: ${JSON.stringify(doc.text)}`)
    // Nothing more of hers is taken.
    atEd.send(update(doc.docId, Channel.Text, a.localInsert(3, 'more')))
    await processed(atEd)
    await sleep(200)
    expect(edDoc.text).not.toContain('more')
    // The honest peers' own edits still reach everyone.
    await doc.insert(0, 'after ')
    await until(
      () => `honest edits everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text])}`,
      () => [edDoc, carolDoc].every((d) => d.text === doc.text),
      10_000,
    )
    expect(doc.text.startsWith('after ')).toBe(true)
  })

  it('4. property writes in another device’s name, live or in a sync reply, are never applied', async () => {
    const { owner, ed, carol, doc, edDoc, carolDoc, mallory, atEd, atCarol } = await setUp('Titles.\n')
    await doc.setProp('title', 'The owner’s title')
    await until('everyone has the title', () => [edDoc, carolDoc].every((d) => d.title === doc.title), 10_000)
    const replica = doc.durable.replica
    const ownerName = carolDoc.authorOf(replica)?.name
    expect(ownerName).toBe(owner.name)
    // The owner's next title write, forged (her signature, the owner's replica and next counter).
    const forge = new LwwMap(replica)
    forge.applyRemote(await doc.durable.propChangesSince({}))
    forge.signWith(propSigner(doc.docId, mallory.sign))
    atCarol.send(update(doc.docId, Channel.Props, forge.set('title', 'FORGED')))
    // Her own replica, bound to her by its claim, naming the owner's replica: in a sync reply.
    const nonce = new Uint8Array(randomBytes(8))
    const claim = makeSeal(doc.docId, fromHex(mallory.key), nonce, 0, EMPTY_DIGEST, mallory.sign)
    const hers = new LwwMap(claim.replica)
    hers.signWith(propSigner(doc.docId, mallory.sign))
    atEd.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    const renamed = hers.set(`author:${replica}`, { device: owner.self, name: 'Mallory' })
    atEd.send({ type: 'sync-reply', docId: doc.docId, batches: [EMPTY, renamed, EMPTY, EMPTY] })
    await until(
      'both cut her off',
      () => [ed, carol].every((n) => n.log.lines.some((l) => /forged property writes/.test(l))),
      5_000,
    )
    expect(ed.node.workspace.session(mallory.key)?.isAuthenticated(doc.docId)).toBe(false)
    expect(carol.node.workspace.session(mallory.key)?.isAuthenticated(doc.docId)).toBe(false)
    // The owner's real next write takes the counter she tried to take, and reaches carol through ed.
    await doc.setProp('title', 'Still the owner’s')
    await until('the owner’s title everywhere', () => carolDoc.title === 'Still the owner’s', 10_000)
    for (const d of [doc, edDoc, carolDoc]) {
      expect(d.title).toBe('Still the owner’s')
      expect(d.authorOf(replica)?.name).toBe(ownerName)
      expect(d.durable.props.version()).toEqual(doc.durable.props.version())
      expect(d.durable.props.version()[claim.replica]).toBeUndefined()
    }
    log('forged property writes never applied, their sender cut off; the owner’s next title everywhere')
  })

  it('5. a member that never seals its edits: flagged as withholding, and her edits, with what ed typed beside them, reach everyone attested by ed', async () => {
    const world = await setUp('Withheld.\n', { sealWaitMs: 300 })
    const { ed, carol, edDoc, carolDoc, mallory, atEd } = world
    let { owner, doc } = world
    const nonce = new Uint8Array(randomBytes(8))
    const claim = makeSeal(doc.docId, fromHex(mallory.key), nonce, 0, EMPTY_DIGEST, mallory.sign)
    const hers = new TextDoc(claim.replica)
    hers.applyRemote(doc.durable.allTextOps())
    atEd.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    atEd.send(update(doc.docId, Channel.Text, hers.localInsert(0, 'unsealed ')))
    await until('ed took them', () => edDoc.text.startsWith('unsealed '), 5_000)
    // Ed types right after her characters: his insert names one of hers as its origin.
    await edDoc.insert('unsealed '.length, '<ed>')
    await atEd.waitFor((m) => m.type === 'seal-request' && m.replica === claim.replica, 5_000)
    const flagged = () => [doc, edDoc, carolDoc].map((d) => d.withholders().includes(mallory.key))
    expect(flagged()).toEqual([false, false, false])
    // Nobody vouches for her ops yet: carol holds them, and ed's insert waits for them at the owner.
    await sleep(100)
    for (const d of [doc, carolDoc]) expect(d.text).not.toContain('<ed>')
    await until(
      'ed and carol flag her',
      () => {
        syncAll()
        return flagged()[1]! && flagged()[2]!
      },
      5_000,
    )
    expect(flagged()[0]).toBe(false) // not connected to her: not hers to judge
    expect(ed.log.lines.some((l) => /flagged as withholding/.test(l))).toBe(true)
    // Ed signs what he took from her; carol and the owner take it once no seal of hers disagrees.
    await until(
      () => `one text everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text])}`,
      () => {
        syncAll()
        return [edDoc, carolDoc].every((d) => d.text === doc.text) && doc.text.startsWith('unsealed <ed>')
      },
      10_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    expect(ed.log.lines.some((l) => /attested up to 9/.test(l))).toBe(true)
    expect(doc.authorOf(claim.replica)?.device).toBe(mallory.key)
    // Her counters are ed's word (or carol's, who flagged her too: the smaller key), the same everywhere.
    const ranges = () => [doc, edDoc, carolDoc].map((d) => JSON.stringify(d.attestedOf(claim.replica)))
    await until(
      () => `the same attested range everywhere: ${JSON.stringify(ranges())}`,
      () => new Set(ranges()).size === 1 && doc.attestedOf(claim.replica).length === 1,
      5_000,
    )
    expect(doc.attestedOf(claim.replica)[0]).toMatchObject({ from: 1, to: 9 })
    expect([ed.self, carol.self]).toContain(doc.attestedOf(claim.replica)[0]!.by)
    expect(owner.log.lines.some((l) => /malformed/.test(l))).toBe(false)
    // Kept on disk (once the text holds the ops): the owner, restarted, shows the same range at once,
    // before any peer offers it again.
    const shown = JSON.stringify(doc.attestedOf(claim.replica))
    await until('the owner stored it', () => doc.durable.attestedRecords().length === 1, 5_000)
    owner = await cluster.restart(owner, { sealWaitMs: 300 })
    doc = await owner.node.workspace.openDoc(doc.docId)
    expect(JSON.stringify(doc.attestedOf(claim.replica))).toBe(shown)
    // And the version itself, rebuilt from the text and checked against its signed digest, to offer.
    expect(owner.log.lines.some((l) => /from disk, with the version to offer/.test(l))).toBe(true)
    expect(doc.text).toBe(edDoc.text)
    // She seals at last (what she sent): the flag goes, and nothing changes.
    const digest = streamDigest(hers, claim.replica, 9)!
    const seal = makeSeal(doc.docId, claim.device, claim.nonce, 9, digest, mallory.sign)
    atEd.send(update(doc.docId, Channel.Seals, encodeSeals([seal])))
    await until(
      () => `no longer flagged: ${JSON.stringify(flagged())}`,
      () => {
        syncAll()
        return flagged().every((f) => !f)
      },
      5_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    log(
      `a withholding member was flagged; ed attested her edits, and his typed beside them reached everyone: ${JSON.stringify(doc.text)}`,
    )
  })

  it('6. an insert whose origins are out of order is placed by every peer alike, and their texts stay equal', async () => {
    const { doc, edDoc, carolDoc, mallory, atEd, atCarol } = await setUp('abcdefgh\n')
    const nonce = new Uint8Array(randomBytes(8))
    const claim = makeSeal(doc.docId, fromHex(mallory.key), nonce, 0, EMPTY_DIGEST, mallory.sign)
    for (const c of [atEd, atCarol]) c.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    // After 'f' (the owner's counter 6) and before 'b' (counter 2): no honest replica makes this.
    const owner = doc.durable.replica
    const crafted = encodeTextOps([owner, claim.replica], [new InsertOp(1, 1, 'M', 0, 6, 0, 2)])
    // Ed and carol type at that place while it travels, so what each has first differs.
    await Promise.all([edDoc.insert(6, 'E'), carolDoc.insert(6, 'C')])
    atEd.send(update(doc.docId, Channel.Text, crafted))
    atCarol.send(update(doc.docId, Channel.Text, crafted))
    // Sealed, so that it reaches the owner through ed (mallory is not connected to it).
    const digest = versionDigest(crafted, claim.replica, 1)!
    const sealed = makeSeal(doc.docId, claim.device, claim.nonce, 1, digest, mallory.sign)
    for (const c of [atEd, atCarol]) c.send(update(doc.docId, Channel.Seals, encodeSeals([sealed])))
    await Promise.all([processed(atEd), processed(atCarol)])
    await until(
      'all three have both edits, in step',
      () =>
        [doc, edDoc, carolDoc].every((d) => ['E', 'C', 'M'].every((x) => d.text.includes(x))) &&
        [edDoc, carolDoc].every(
          (d) => d.text === doc.text && sameVersion(d.textVersion(), doc.textVersion()),
        ),
      10_000,
    )
    // After 'f' (its left origin), where the scan for an insert that names no right origin puts it.
    for (const d of [doc, edDoc, carolDoc]) expect(d.text.indexOf('M')).toBeGreaterThan(d.text.indexOf('f'))
    log(`an insert with its origins out of order was placed alike by every peer: ${JSON.stringify(doc.text)}`)
  })
  it('7. a member that attests a made-up tail of the owner’s replica: it is shown as hers, and the owner’s edits go on past it, on every peer', async () => {
    const { owner, doc, edDoc, carolDoc, mallory, atCarol } = await setUp('Attested.\n', { sealWaitMs: 300 })
    const replica = doc.durable.replica
    await until('carol has the owner’s text', () => carolDoc.text === doc.text, 5_000)
    // Mallory writes ops under the owner's replica past its counter and signs, as an attester, that
    // she took them from the owner.
    const { m, n } = attestMadeUpTail(doc, replica, mallory, atCarol)
    // The owner types while the lie waits, and after: its edits take counters the lie holds too.
    await doc.insert(0, 'one ')
    await until(
      () => `one text everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text])}`,
      () => {
        syncAll()
        // The counters 'one ' took are the owner's (it sealed them); past them, hers stand in.
        return [edDoc, carolDoc].every((d) => d.text === doc.text) && doc.text.includes(' UP')
      },
      15_000,
    )
    await doc.insert(0, 'two ')
    await until(
      () => `the owner’s next edit everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text])}`,
      () => {
        syncAll()
        return [edDoc, carolDoc].every((d) => d.text === doc.text)
      },
      15_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    for (const d of [doc, edDoc, carolDoc]) expect(d.text).toBe('two one  UPAttested.\n')
    // Her characters past what the owner sealed are hers, attested by her, on every peer (the owner's
    // signed author record says so, once it arrives).
    const hers = JSON.stringify([{ from: m + 'one '.length + 1, to: n, by: mallory.key }])
    await until(
      () =>
        `her range everywhere: ${[doc, edDoc, carolDoc].map((d) => JSON.stringify(d.attestedOf(replica)))}`,
      () => [doc, edDoc, carolDoc].every((d) => JSON.stringify(d.attestedOf(replica)) === hers),
      5_000,
    )
    // The owner's edits went past the counters she took: none of them was dropped as a duplicate.
    expect(doc.durable.text.seenOf(replica)).toBeGreaterThan(n)
    expect(owner.log.lines.some((l) => /taken as attested by/.test(l))).toBe(true)
    log(
      `a made-up attested tail is shown as mallory's; the owner's edits went on past it: ${JSON.stringify(doc.text)}`,
    )
  })

  it('9. a made-up tail of a window’s replica taken while the window types: its keystrokes are typed again where it made them, none lost', async () => {
    const { owner, doc, edDoc, carolDoc, mallory, atCarol } = await setUp('Attested.\n', { sealWaitMs: 300 })
    // The window: a replica of the owner's device, made and pushed as the app's windows do.
    const window = new TextDoc(doc.mintReplica())
    const replica = window.replica
    window.applyRemote(doc.durable.allTextOps())
    await doc.applyLocalBatch(window.localInsert(0, 'one '))
    await until('carol has the window’s edit', () => carolDoc.text === 'one Attested.\n', 5_000)
    // Mallory attests a made-up tail of the window's replica, past what it pushed.
    attestMadeUpTail(doc, replica, mallory, atCarol)
    // The window types meanwhile; its edits reach the owner once it has taken her counters.
    const typed = [window.localInsert(4, 'two '), window.localInsert(8, 'three ')]
    await until(
      'the owner took her tail',
      () => {
        syncAll()
        return doc.text.endsWith('MADE UP')
      },
      10_000,
    )
    let resets = 0
    doc.on('reset', () => resets++)
    for (const batch of typed) await doc.applyLocalBatch(batch)
    const expected = 'one two three Attested.\nMADE UP'
    expect(doc.text).toBe(expected)
    expect(resets).toBeGreaterThan(0)
    expect(owner.log.lines.some((l) => /typed again/.test(l))).toBe(true)
    await until(
      () => `one text everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text])}`,
      () => {
        syncAll()
        return [edDoc, carolDoc].every((d) => d.text === expected)
      },
      10_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    log(`a window's keystrokes under counters taken meanwhile were typed again: ${JSON.stringify(doc.text)}`)
  })

  it('8. the same ops in different orders: peers notice at their next sync request and rebuild in canonical order', async () => {
    const { owner, ed, carol, doc, edDoc, carolDoc, mallory, atEd, atCarol } = await setUp('')
    // Four replicas of hers, named a, b, c, e by the order of their IDs (the order ties are broken by).
    const claims = [0, 1, 2, 3]
      .map(() =>
        makeSeal(
          doc.docId,
          fromHex(mallory.key),
          new Uint8Array(randomBytes(8)),
          0,
          EMPTY_DIGEST,
          mallory.sign,
        ),
      )
      .sort((x, y) => (x.replica < y.replica ? -1 : 1))
    for (const c of [atEd, atCarol]) c.send(update(doc.docId, Channel.Seals, encodeSeals(claims)))
    const replicas = claims.map((x) => x.replica)
    const [A, B, C, E] = [0, 1, 2, 3]
    const none = -1
    const op = (
      agent: number,
      counter: number,
      text: string,
      left: [number, number] | null,
      right: [number, number] | null,
    ) =>
      encodeTextOps(replicas, [
        new InsertOp(
          agent,
          counter,
          text,
          left?.[0] ?? none,
          left?.[1] ?? 0,
          right?.[0] ?? none,
          right?.[1] ?? 0,
        ),
      ])
    // Honest-looking inserts by a, b and c at the start and after one another, e's first after a's;
    // and e's second between the start and b's second character, which b typed after its first: the
    // two were never neighbours, and where it lands depends on what arrived before it.
    const ops = {
      a1: op(A, 1, 'a', null, null),
      b1: op(B, 1, 'b', null, null),
      b2: op(B, 2, 'B', [B, 1], null),
      c1: op(C, 1, 'c', null, null),
      c2: op(C, 2, 'C', [C, 1], null),
      c3: op(C, 3, 'x', null, [C, 1]),
      e1: op(E, 1, 'e', [A, 1], null),
      e2: op(E, 2, 'E', null, [B, 2]),
    }
    const toEd = [ops.b1, ops.a1, ops.b2, ops.c1, ops.c2, ops.e1, ops.e2, ops.c3]
    const toCarol = [ops.e1, ops.b2, ops.a1, ops.c1, ops.e2, ops.c3, ops.c2, ops.b1]
    for (const batch of toEd) atEd.send(update(doc.docId, Channel.Text, batch))
    for (const batch of toCarol) atCarol.send(update(doc.docId, Channel.Text, batch))
    // Sealed, so that they reach the owner through ed (she is not connected to it).
    const all = new TextDoc('all')
    for (const batch of toEd) all.applyRemote(batch)
    const sealed = claims.map((x) =>
      makeSeal(
        doc.docId,
        x.device,
        x.nonce,
        all.seenOf(x.replica),
        streamDigest(all, x.replica, all.seenOf(x.replica))!,
        mallory.sign,
      ),
    )
    for (const c of [atEd, atCarol]) c.send(update(doc.docId, Channel.Seals, encodeSeals(sealed)))
    await Promise.all([processed(atEd), processed(atCarol)])
    const expected = all.canonical().toString()
    await until(
      () => `one text everywhere: ${JSON.stringify([doc.text, edDoc.text, carolDoc.text, expected])}`,
      () => {
        syncAll()
        return [doc, edDoc, carolDoc].every((d) => d.text === expected)
      },
      15_000,
    )
    expectInStep([doc, edDoc, carolDoc])
    const rebuilt = [owner, ed, carol].filter((n) =>
      n.log.lines.some((l) => /rebuilt in canonical order/.test(l)),
    )
    expect(rebuilt.length).toBeGreaterThan(0)
    log(
      `the same ops in two orders: ${rebuilt.length} peer(s) rebuilt in canonical order: ${JSON.stringify(doc.text)}`,
    )
  })

  it('10. a batch under her own replica, its table sound and its ops not: malformed, nothing applied or relayed, and she loses the document', async () => {
    const { ed, carol, doc, edDoc, carolDoc, mallory, atEd, atCarol } = await setUp('sound text\n')
    const nonce = new Uint8Array(randomBytes(8))
    const claim = makeSeal(doc.docId, fromHex(mallory.key), nonce, 0, EMPTY_DIGEST, mallory.sign)
    for (const c of [atEd, atCarol]) c.send(update(doc.docId, Channel.Seals, encodeSeals([claim])))
    await Promise.all([processed(atEd), processed(atCarol)])
    const good = encodeTextOps([claim.replica], [new InsertOp(0, 1, 'MALLORY', -1, 0, -1, 0)])
    const versions = [edDoc.textVersion(), carolDoc.textVersion()]
    // A byte cut off to ed, a byte too many to carol.
    atEd.send(update(doc.docId, Channel.Text, good.subarray(0, good.length - 1)))
    atCarol.send(update(doc.docId, Channel.Text, Uint8Array.from([...good, 0x41])))
    await until(
      'ed and carol refused them as malformed',
      () => [ed, carol].every((n) => n.log.lines.some((l) => /malformed batch .*text length/.test(l))),
      10_000,
    )
    // Each connection lost the document: what she sends on it now is dropped unread.
    for (const n of [ed, carol])
      expect(n.node.workspace.session(mallory.key)?.isAuthenticated(doc.docId)).toBe(false)
    atEd.send(update(doc.docId, Channel.Text, good))
    await processed(atEd)
    await sleep(300) // anything ed or carol would pass on arrives now
    for (const d of [doc, edDoc, carolDoc]) {
      expect(d.text).not.toContain('MALLORY')
      expect(Object.keys(d.textVersion())).not.toContain(claim.replica)
    }
    expect([edDoc.textVersion(), carolDoc.textVersion()]).toEqual(versions)
    // The honest edits go on.
    await doc.insert(0, 'still ')
    await until('the owner’s edit reached carol', () => carolDoc.text === 'still sound text\n', 10_000)
    log('a batch with a sound table and malformed ops was refused, and its sender lost the document')
  })
})
