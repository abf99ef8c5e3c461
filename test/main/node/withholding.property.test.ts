/**
 * Seeded property test of withholding (src/main/node/forks.ts, docs/PROTOCOL.md "Withholding"): a
 * member that never seals its edits, among whole nodes (Workspace + DocSession over the protocol
 * sessions of TCP + Noise, on in-memory links: test/main/node/cluster.ts).
 *
 * Each seed makes a document of three honest nodes (a, b owners; c an editor; a line a — b — c or a
 * triangle) and mallory, an editor connected to all three. Honest nodes type unique tokens at token
 * boundaries. Mallory's client also:
 *
 * - withholds: edits under a replica of her own that she never seals, sent to one honest node (or the
 *   same stream to two), which types right after them. Before attestations, what she sent and all
 *   typed beside it reached only those nodes, for good;
 * - sends two different unsealed streams of one replica (the same mark at two places) to two nodes,
 *   each of which types right after its copy: equivocation without seals;
 * - seals some of those streams late, or a part of one (what she sent the first node: her seal
 *   agrees with it), to one of the nodes she sent it to. Where she sent two streams, every node must
 *   end with her sealed prefix and, past it, the best attested stream;
 * - forges ops under an honest node's replica with its next counters (never applied: seals);
 * - replays what she sent.
 *
 * After anti-entropy the honest nodes must hold the same text and version vectors, every honest
 * token, every withheld edit that was typed beside, no forged text, and show the same counters as
 * attested by the same member. A failure shows each node's text, version vector and the digest of
 * each replica's stream, and the node's log lines about the document.
 *
 * Seeds: MESHPAD_SEEDS (default 1000) from 1, or one seed with MESHPAD_SEED. Seeds run 20 at a time on
 * the same four nodes (a document each), as each mostly waits: for the seal wait (SEAL_WAIT_MS here),
 * and the attestation wait and seals asked again, which take no longer (forks.ts, doc-provenance.ts).
 * Anti-entropy runs for the seed's own document (byzantine-world.ts, syncDoc).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'vitest'
import { streamDigest } from '../../../src/main/node/provenance'
import { EMPTY_DIGEST, encodeSeals, makeSeal } from '../../../src/main/node/replica-seal'
import type { DocSession } from '../../../src/main/node/doc-session'
import { TextDoc } from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'
import { fromHex, toHex } from '../../../src/shared/sync/hex'
import { Channel } from '../../../src/shared/sync/messages'
import type { PeerSession } from '../../../src/shared/sync/session'
import { until } from './cluster'
import { cutsOf, describeSeeds, shared, sorted, syncDoc, type World } from './byzantine-world'

/** A member that leaves a seal request unanswered this long is withholding (60 s in the product). */
const SEAL_WAIT_MS = 100

/**
 * Anti-entropy for the seed's document, as a node's timer runs it (every 3 s in the product, for
 * every document the node holds: byzantine-world.ts, syncDoc): at most every 50 ms here.
 */
const synced = new Map<string, number>()
function antiEntropy(w: World, docId: string): void {
  if (Date.now() - (synced.get(docId) ?? 0) < 50) return
  synced.set(docId, Date.now())
  syncDoc(w, [w.a, w.b, w.c], docId)
}

async function runSeed(w: World, seed: number): Promise<void> {
  const random = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const honest = [w.a, w.b, w.c]
  const { docs, mDoc } = await shared(w, `seed ${seed}`)
  const docId = mDoc.docId
  const tokens: string[] = []
  const withheld: { mark: string; replica: string }[] = []
  const sent: { to: PeerSession; batch: Uint8Array }[] = []
  const steps = 8 + Math.floor(random() * 12)
  for (let step = 0; step < steps; step++) {
    const what = random()
    if (what < 0.5) {
      const d = pick(docs)
      const token = `<${seed}.${step}>`
      tokens.push(token)
      await d.insert(pick(cutsOf(d.text)), token)
      continue
    }
    const target = pick(honest)
    const to = w.m.ws.session(target.self)
    if (!to?.isAuthenticated(docId)) continue
    if (what < 0.8) {
      // Withholding: her edits, unsealed, to the target (and to another node: the same stream, or
      // another one, the same mark at another place).
      const nonce = Uint8Array.from({ length: 8 }, () => Math.floor(random() * 256))
      const claim = makeSeal(docId, fromHex(w.m.self), nonce, 0, EMPTY_DIGEST, w.m.sign)
      const base = mDoc.durable.allTextOps()
      const branch = new TextDoc(claim.replica)
      branch.applyRemote(base)
      const mark = `[W${step}]`
      const ops = branch.localInsert(pick(cutsOf(mDoc.text)), mark)
      const other = honest.find((n) => n !== target && w.m.ws.session(n.self)?.isAuthenticated(docId))
      const how = other ? random() : 1
      const streams: [typeof target, Uint8Array][] = [[target, ops]]
      if (other && how < 0.3) streams.push([other, ops])
      else if (other && how < 0.5) {
        const twin = new TextDoc(claim.replica)
        twin.applyRemote(base)
        streams.push([other, twin.localInsert(pick(cutsOf(mDoc.text)), mark)])
      }
      const nodes = streams.map(([node]) => node)
      for (const [node, batch] of streams) {
        const s = w.m.ws.session(node.self)!
        s.sendUpdate(docId, Channel.Seals, encodeSeals([claim]))
        s.sendUpdate(docId, Channel.Text, batch)
        sent.push({ to: s, batch })
      }
      for (const [k, node] of nodes.entries()) {
        const d = node.ws.doc(docId)!
        await until(`${node.name} took her edits`, () => d.text.includes(mark), 150).catch(() => undefined)
        const at = d.text.indexOf(mark)
        if (at < 0 || (k > 0 && how < 0.3)) continue
        // Typed right after her characters: its origin is one of hers.
        const token = `<${seed}.${step}${node.name}>`
        tokens.push(token)
        if (k === 0) withheld.push({ mark, replica: claim.replica })
        await d.insert(at + mark.length, token)
      }
      if (random() < 0.25) {
        // She seals at last, all of it or a part, of what she sent the target (her seal agrees with
        // it; where the other node took another stream, the seal disagrees with that one).
        const counter = random() < 0.5 ? mark.length : 1 + Math.floor(random() * mark.length)
        const seal = makeSeal(
          docId,
          claim.device,
          claim.nonce,
          counter,
          streamDigest(branch, claim.replica, counter)!,
          w.m.sign,
        )
        pick(nodes.map((n) => w.m.ws.session(n.self)!)).sendUpdate(docId, Channel.Seals, encodeSeals([seal]))
      }
    } else if (what < 0.92) {
      // The victim's next ops, forged: held for a seal that never covers them.
      const victim = pick(docs)
      const forge = new TextDoc(victim.durable.replica)
      forge.applyRemote(mDoc.durable.allTextOps())
      const batch = forge.localInsert(Math.floor(random() * (forge.length + 1)), 'FORGED')
      to.sendUpdate(docId, Channel.Text, batch)
      sent.push({ to, batch })
    } else if (sent.length > 0) {
      const replay = pick(sent)
      replay.to.sendUpdate(docId, Channel.Text, replay.batch)
    }
  }
  const converged = (): boolean => {
    const [x, ...rest] = docs
    return rest.every((d) => d.text === x!.text && sorted(d.textVersion()) === sorted(x!.textVersion()))
  }
  // Each node's text, version, and the digest of each replica's ops (so a failure shows whether the
  // nodes hold different versions of a replica, or the same ops in different orders).
  const state = (): string =>
    docs
      .map((d) => {
        const streams = Object.keys(d.textVersion())
          .sort()
          .map((r) =>
            toHex(streamDigest(d.durable.text, r, d.durable.text.seenOf(r)) ?? EMPTY_DIGEST).slice(0, 6),
          )
        return `${JSON.stringify(d.text)} ${sorted(d.textVersion())} ${streams.join(' ')}`
      })
      .join('\n')
  // Each node's last log lines that name the document or one of its replicas.
  const logs = (): string => {
    const names = [docId.slice(0, 8), ...Object.keys(docs[0]!.textVersion())]
    return honest
      .map((n) => {
        const mine = n.logs.filter((l) => names.some((name) => l.includes(name)))
        return [`--- ${n.name}`, ...mine.slice(-40)].join('\n')
      })
      .join('\n')
  }
  // Judged twice, 300 ms apart: what mallory sent may still be on its way the first time.
  for (const pause of [0, 300]) {
    await sleep(pause)
    await until(
      'honest nodes converge',
      () => {
        antiEntropy(w, docId)
        return converged() && docs.every((d) => d.attestationsWaiting() === 0)
      },
      15_000,
    ).catch((err: unknown) => {
      throw new Error(`seed ${seed}: ${String(err)}\n${state()}\n${logs()}`, { cause: err })
    })
  }
  // The same counters shown as attested, by the same member, once each honest node sealed what it
  // typed (it does 1 s after a pause; one flagged while slow to answer had its edits attested).
  const ranges = (d: DocSession): string =>
    JSON.stringify(
      Object.keys(d.textVersion())
        .sort()
        .map((r) => d.attestedOf(r)),
    )
  for (const d of docs) d.sealPending()
  await until(
    'attested ranges agree',
    () => {
      antiEntropy(w, docId)
      return docs.every((d) => ranges(d) === ranges(docs[0]!))
    },
    10_000,
  ).catch((err: unknown) => {
    throw new Error(`seed ${seed}: ${String(err)}\n${docs.map(ranges).join('\n')}`, { cause: err })
  })
  for (const d of docs) {
    for (const token of tokens) expect(d.text, `seed ${seed}: ${token}\n${state()}`).toContain(token)
    // Her edits, every character (others may have typed between them where a part was sealed first).
    const copy = new TextDoc('reader')
    copy.applyRemote(d.durable.allTextOps())
    const runs = copy.authorRuns()
    for (const { mark, replica } of withheld) {
      let at = 0
      let hers = ''
      for (const run of runs) {
        if (run.replica === replica) hers += d.text.slice(at, at + run.length)
        at += run.length
      }
      expect(hers, `seed ${seed}: ${mark}\n${state()}`).toBe(mark)
    }
    expect(d.text, `seed ${seed}`).not.toContain('FORGED')
  }
}

describeSeeds(
  'withholding: what a member sent one node, and all typed beside it, reaches every node',
  { seeds: 1000, atOnce: 20, state: { sealWaitMs: SEAL_WAIT_MS } },
  runSeed,
)
