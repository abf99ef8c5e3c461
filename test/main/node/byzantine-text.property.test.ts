/**
 * Seeded property test of edits bound to their author (src/main/node/provenance.ts) with a Byzantine
 * member among whole nodes (Workspace + DocSession over the same protocol sessions as TCP + Noise, on
 * in-memory links: test/main/node/cluster.ts).
 *
 * Each seed makes a document of three honest nodes (a, b owners; c an editor; a line a — b — c or a
 * triangle) and mallory, an editor connected to all three. Honest nodes type unique tokens at random
 * places; mallory's node behaves, and her client also:
 *
 * - forges ops under an honest node's replica with its next counters (inserts and deletes), sent live
 *   or in a sync reply, to a random honest node;
 * - floods ops of made-up replicas (no claim);
 * - replays batches it saw, stale or forged, to random nodes;
 * - sends, under a replica of her own (claimed), inserts whose origins are any two characters, in order
 *   or not, never neighbours as an honest insert's are: placed by arrival order they make nodes hold
 *   the same ops in different orders, which the nodes notice at their next sync request and mend by a
 *   rebuild in canonical order (src/main/node/text-order.ts);
 * - equivocates: two histories of a replica of her own, each to one honest node, sealed at once or
 *   after the honest nodes have typed beside them (forks.ts: they settle on one of them);
 * - forges property writes (src/main/node/signed-props.ts): under an honest node's replica with its
 *   next counter, signed by her; under a made-up replica; under her own replica but stamped a day
 *   ahead; and names an honest replica in an author record. Honest nodes set properties too.
 *
 * After anti-entropy the honest nodes must have the same text, properties and version vectors, hold
 * every honest token, and no forged text or property; history credits each honest replica to its own
 * device, by its own name.
 *
 * Seeds: MESHPAD_SEEDS (default 1000) from 1, or one seed with MESHPAD_SEED. Seeds run ten at a time on
 * the same four nodes (a document each).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { seededRandom } from '../../../src/shared/random'
import { expect } from 'vitest'
import { LwwMap, TextDoc } from '../../../src/shared/crdt'
import { InsertOp } from '../../../src/shared/crdt/ops'
import { encodeTextOps } from '../../../src/shared/crdt/text-codec'
import { streamDigest } from '../../../src/main/node/provenance'
import { versionDigest } from '../../../src/main/node/versions'
import { EMPTY_DIGEST, encodeSeals, makeSeal, type Seal } from '../../../src/main/node/replica-seal'
import { fromHex } from '../../../src/shared/sync/hex'
import { propSigner } from '../../../src/main/node/signed-props'
import { Channel } from '../../../src/shared/sync/messages'
import type { PeerSession } from '../../../src/shared/sync/session'
import type { DocSession } from '../../../src/main/node/doc-session'
import { until } from './cluster'
import { cutsOf, describeSeeds, rawSend, shared, sorted, syncDoc, type World } from './byzantine-world'

const EMPTY = new Uint8Array(0)

async function runSeed(w: World, seed: number): Promise<void> {
  const random = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const honest = [w.a, w.b, w.c]
  const { docs, mDoc } = await shared(w, `seed ${seed}`)
  const docId = mDoc.docId
  const tokens: string[] = []
  const seen: Uint8Array[] = []
  let equivocated = 0
  const steps = 12 + Math.floor(random() * 20)
  for (let step = 0; step < steps; step++) {
    const what = random()
    if (what < 0.1) {
      // An honest property write: a title or a key of its own, at a random honest node.
      const d = pick(docs)
      const value = `<${seed}.${step}>`
      await d.setProp(random() < 0.5 ? 'title' : `k${step % 3}`, value)
      continue
    }
    if (what < 0.2) {
      const victim = pick(docs)
      const target = pick(honest)
      const to = w.m.ws.session(target.self)
      if (!to?.isAuthenticated(docId)) continue
      const kind = random()
      const props = await mDoc.durable.propChangesSince({})
      // Under the victim's replica and next counter, her signature; or a made-up replica; or her own
      // replica, a day ahead; or her own, naming the victim's replica in an author record.
      const replica =
        kind < 0.4 ? victim.durable.replica : kind < 0.6 ? `made${seed}x${step}` : mDoc.durable.replica
      const ahead = kind >= 0.6 && kind < 0.8 ? 24 * 60 * 60 * 1000 : 0
      const forge = new LwwMap(replica, { clock: () => Date.now() + ahead })
      forge.applyRemote(props)
      forge.signWith(propSigner(docId, w.m.sign))
      const batch =
        kind >= 0.8
          ? forge.set(`author:${victim.durable.replica}`, { device: w.m.self, name: 'FORGED' })
          : forge.set('title', 'FORGED')
      if (random() < 0.5) to.sendUpdate(docId, Channel.Props, batch)
      else rawSend(to, { type: 'sync-reply', docId, batches: [EMPTY, batch, EMPTY, EMPTY] })
      continue
    }
    if (what < 0.55) {
      const i = Math.floor(random() * 3)
      const d = docs[i]!
      const token = `<${seed}.${step}>`
      tokens.push(token)
      // Only at token boundaries: honest edits never cut another token.
      const cuts = cutsOf(d.text)
      await d.insert(pick(cuts), token)
    } else {
      const victim = pick(docs)
      const target = pick(honest)
      const to = w.m.ws.session(target.self)
      if (!to?.isAuthenticated(docId)) continue
      if (what < 0.8) {
        // Forge the victim's next ops: an insert, or a delete of what is there.
        const replica = victim.durable.replica
        const forge = new TextDoc(replica)
        forge.applyRemote(mDoc.durable.allTextOps())
        const batch =
          random() < 0.5 || forge.length === 0
            ? forge.localInsert(Math.floor(random() * (forge.length + 1)), 'FORGED')
            : forge.localDelete(Math.floor(random() * forge.length), 1)
        seen.push(batch)
        if (random() < 0.5) to.sendUpdate(docId, Channel.Text, batch)
        else rawSend(to, { type: 'sync-reply', docId, batches: [batch, EMPTY, EMPTY, EMPTY] })
      } else if (what < 0.85) {
        // Made-up replicas: a delete each.
        const base = mDoc.durable.allTextOps()
        const forge = new TextDoc(`flood${seed}`)
        forge.applyRemote(base)
        const start = forge.version()
        for (let k = 0; k < 5 && k < forge.length; k++) {
          const r = new TextDoc(`f${seed}x${step}x${k}`)
          r.applyRemote(base)
          forge.applyRemote(r.localDelete(k, 1))
        }
        const batch = forge.changesSince(start)
        seen.push(batch)
        to.sendUpdate(docId, Channel.Text, batch)
      } else if (what < 0.88) {
        // Equivocation: under a replica of her own, two different histories, each to one honest node
        // (and sealed, at once or later), at token boundaries; honest nodes may type beside them. The
        // honest nodes must settle on one of them (forks.ts), the same everywhere.
        const other = honest.find((n) => n !== target && w.m.ws.session(n.self)?.isAuthenticated(docId))
        if (!other) continue
        const nonce = Uint8Array.from({ length: 8 }, () => Math.floor(random() * 256))
        const claim = makeSeal(docId, fromHex(w.m.self), nonce, 0, EMPTY_DIGEST, w.m.sign)
        const base = mDoc.durable.allTextOps()
        const cuts = cutsOf(mDoc.text)
        const sealLater: [PeerSession, Seal][] = []
        for (const [k, node] of [target, other].entries()) {
          const branch = new TextDoc(claim.replica)
          branch.applyRemote(base)
          const ops = branch.localInsert(pick(cuts), k === 0 ? '[EQ-A]' : '[EQ-B]')
          const digest = streamDigest(branch, claim.replica, 6)!
          const seal = makeSeal(docId, claim.device, claim.nonce, 6, digest, w.m.sign)
          const s = w.m.ws.session(node.self)!
          s.sendUpdate(docId, Channel.Seals, encodeSeals([claim]))
          s.sendUpdate(docId, Channel.Text, ops)
          if (random() < 0.5) s.sendUpdate(docId, Channel.Seals, encodeSeals([seal]))
          else sealLater.push([s, seal])
        }
        // The two type right after her characters, each in the version it took, before the seals
        // that are held back go out (before anything can cut her off: a device that never seals is
        // withholding, another case).
        for (const node of [target, other]) {
          const d = node.ws.doc(docId)!
          const at = d.text.search(/\[EQ-[AB]\]/)
          if (at < 0) continue
          const token = `<${seed}.${step}${node.name}>`
          tokens.push(token)
          await d.insert(at + 6, token)
        }
        for (const [s, seal] of sealLater) s.sendUpdate(docId, Channel.Seals, encodeSeals([seal]))
        equivocated++
      } else if (what < 0.92) {
        // Under replicas of her own, claimed and bound to her: inserts whose origins are any two token
        // boundaries (so that they split no token), in order or not, never neighbours as an honest
        // insert's are, the later ones also beside the earlier ones; sent to two nodes in opposite
        // orders. Where they land can depend on what a node received first; nodes that differ rebuild
        // in canonical order once they compare (src/main/node/text-order.ts).
        const scratch = new TextDoc('scratch')
        scratch.applyRemote(mDoc.durable.allTextOps())
        const batches: Uint8Array[] = []
        const claims: Seal[] = []
        const seals: Seal[] = []
        for (let k = 0; k < 2 + Math.floor(random() * 3); k++) {
          const nonce = Uint8Array.from({ length: 8 }, () => Math.floor(random() * 256))
          const claim = makeSeal(docId, fromHex(w.m.self), nonce, 0, EMPTY_DIGEST, w.m.sign)
          const cuts = cutsOf(scratch.toString())
          const left = ((at) => (at > 0 ? scratch.idAt(at - 1) : null))(pick(cuts))
          const right = ((at) => (at < scratch.length ? scratch.idAt(at) : null))(pick(cuts))
          const replicas = [
            claim.replica,
            ...new Set([left?.replica, right?.replica].filter((r) => r !== undefined)),
          ]
          const at = (id: { replica: string; counter: number } | null): [number, number] =>
            id === null ? [-1, 0] : [replicas.indexOf(id.replica), id.counter]
          const text = `<x${seed}.${step}.${k}>`
          const crafted = encodeTextOps(replicas, [new InsertOp(0, 1, text, ...at(left), ...at(right))])
          scratch.applyRemote(crafted)
          batches.push(crafted)
          claims.push(claim)
          const digest = versionDigest(crafted, claim.replica, text.length)!
          seals.push(makeSeal(docId, claim.device, claim.nonce, text.length, digest, w.m.sign))
        }
        const other = honest
          .map((n) => w.m.ws.session(n.self))
          .find((s) => s !== undefined && s !== to && s.isAuthenticated(docId))
        for (const [s, order] of [
          [to, batches],
          [other, [...batches].reverse()],
        ] as const) {
          if (!s) continue
          s.sendUpdate(docId, Channel.Seals, encodeSeals(claims))
          for (const batch of order) s.sendUpdate(docId, Channel.Text, batch)
          // Sealed, so that they reach every node.
          s.sendUpdate(docId, Channel.Seals, encodeSeals(seals))
        }
      } else if (seen.length > 0) {
        to.sendUpdate(docId, Channel.Text, pick(seen)) // a replay
      }
    }
  }
  // What mallory sent is delivered before convergence is judged, and it must hold once reached.
  await sleep(100)
  const converged = (): boolean => {
    const [x, ...rest] = docs
    const props = (d: DocSession): string =>
      JSON.stringify(d.durable.props.entries()) + sorted(d.durable.props.version())
    // Equivocations found everywhere, too: a node that finds one late settles on a version then.
    const flagged = (d: DocSession): string => JSON.stringify(d.equivocators().sort())
    return rest.every(
      (d) =>
        d.text === x!.text &&
        sorted(d.textVersion()) === sorted(x!.textVersion()) &&
        props(d) === props(x!) &&
        flagged(d) === flagged(x!),
    )
  }
  try {
    await until(
      'honest nodes converge',
      () => {
        if (!converged()) syncDoc(w, honest, docId)
        return converged()
      },
      15_000,
    )
  } catch (err) {
    throw new Error(
      `seed ${seed}: ${String(err)}\n${docs.map((d) => JSON.stringify(d.text) + ' ' + sorted(d.textVersion())).join('\n')}`,
      { cause: err },
    )
  }
  await sleep(300)
  expect(converged(), `seed ${seed}: still converged`).toBe(true)
  for (const d of docs) {
    for (const token of tokens) expect(d.text, `seed ${seed}: ${token}`).toContain(token)
    expect(d.text, `seed ${seed}`).not.toContain('FORGED')
    // At most one of each pair of equivocated histories.
    expect((d.text.match(/\[EQ-[AB]\]/g) ?? []).length, `seed ${seed}`).toBeLessThanOrEqual(equivocated)
    expect(JSON.stringify(d.durable.props.entries()), `seed ${seed}`).not.toContain('FORGED')
    for (const [n, other] of honest.entries()) {
      const replica = docs[n]!.durable.replica
      if (d.durable.text.seenOf(replica) > 0) {
        expect(d.authorOf(replica)?.device, `seed ${seed}`).toBe(other.self)
        expect(d.authorOf(replica)?.name, `seed ${seed}`).toBe(other.name)
      }
    }
  }
}

describeSeeds(
  'edits bound to their author: honest nodes converge with a forging, flooding, replaying, origin-crafting member',
  { seeds: 1000, atOnce: 10 },
  runSeed,
)
