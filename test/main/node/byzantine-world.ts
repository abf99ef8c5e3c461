/**
 * The world of the Byzantine property tests: three honest nodes and mallory, a member whose node
 * behaves while her client (a modified one) sends what she likes (test/main/node/cluster.ts links).
 */
import { afterAll, describe, it } from 'vitest'
import type { DocSession } from '../../../src/main/node/doc-session'
import { decodeInvite } from '../../../src/main/node/invite-code'
import type { Message } from '../../../src/shared/sync/messages'
import type { PeerSession } from '../../../src/shared/sync/session'
import { cleanup, connect, makeNode, until, type NodeState, type TestNode } from './cluster'

/** Seeds per vitest case (each case has a world of its own). */
const PER_CASE = 100

export interface World {
  readonly a: TestNode
  readonly b: TestNode
  readonly c: TestNode
  readonly m: TestNode
}

/** a — b — c in a line (or a triangle), and mallory connected to all three. */
export async function world(line: boolean, state: NodeState = {}): Promise<World> {
  const [a, b, c, m] = await Promise.all(['a', 'b', 'c', 'mallory'].map((n) => makeNode(n, undefined, state)))
  connect(a!, b!)
  connect(b!, c!)
  if (!line) connect(a!, c!)
  for (const x of [a!, b!, c!]) connect(m!, x)
  await until('connected', () =>
    [
      [a!, b!],
      [b!, c!],
      [m!, a!],
      [m!, b!],
      [m!, c!],
    ].every(([x, y]) => x!.ws.session(y!.self)?.ready === true),
  )
  return { a: a!, b: b!, c: c!, m: m! }
}

/** `joiner` joins the owner's document by an invite; resolves with its session once joined. */
export async function invite(
  owner: TestNode,
  joiner: TestNode,
  docId: string,
  role: 'owner' | 'editor',
): Promise<DocSession> {
  const code = await owner.ws.createInvite(docId, role, [])
  joiner.ws.redeemWith(joiner.ws.session(owner.self)!, decodeInvite(code))
  await until(
    `${joiner.name} joined`,
    () => joiner.ws.doc(docId) !== undefined && joiner.ws.doc(docId)!.myRole === role,
    10_000,
  )
  return joiner.ws.doc(docId)!
}

/** A document of a (owner), b (owner), c (editor) and mallory (editor), with a first line by a. */
export async function shared(w: World, title: string): Promise<{ docs: DocSession[]; mDoc: DocSession }> {
  const aDoc = await w.a.ws.createDoc(title)
  await aDoc.insert(0, `${title}\n`)
  const docId = aDoc.docId
  await invite(w.a, w.b, docId, 'owner')
  await invite(w.b, w.c, docId, 'editor')
  const mDoc = await invite(w.a, w.m, docId, 'editor')
  const docs = [w.a, w.b, w.c].map((n) => n.ws.doc(docId)!)
  await until('all have the start', () => docs.every((d) => d.text.startsWith(title)), 10_000)
  // Mallory's node speaks for the document with as many honest nodes as it can (targets of hers).
  await until(
    'mallory reaches everyone',
    () => {
      syncDoc(w, [w.m], docId)
      return [w.a, w.b, w.c].every((n) => w.m.ws.session(n.self)?.isAuthenticated(docId) === true)
    },
    2_000,
  ).catch(() => undefined)
  return { docs, mDoc }
}

/**
 * An anti-entropy round of `nodes` for one document, as Workspace.syncAll runs it for each document a
 * node holds: each asks every peer for what it lacks (or offers its proof again to a member that has
 * not taken one yet), then asks again for the seals it waits for, if it has any seal work (as syncAll:
 * DocSession.sealRoundPending). A world holds the documents of every seed
 * run on it so far: a round of syncAll costs as many as there are, this one the same for each seed.
 */
export function syncDoc(w: World, nodes: readonly TestNode[], docId: string): void {
  for (const n of nodes) {
    const doc = n.ws.doc(docId)
    if (!doc) continue
    for (const peer of [w.a, w.b, w.c, w.m]) {
      const s = n.ws.session(peer.self)
      if (!s?.ready) continue
      if (s.isAuthenticated(docId)) s.resync(docId)
      else if (doc.roleOf(peer.self) !== undefined) s.openDoc(docId)
    }
    // As syncAll does: only a document with seal work left, or a change since its last round.
    if (doc.sealRoundPending) doc.retrySeals()
  }
}

export const sorted = (v: Record<string, number>): string => JSON.stringify(Object.entries(v).sort())

/** Sends any message on a session (a modified client does). */
export const rawSend = (s: PeerSession, m: Message): void =>
  (s as unknown as { send(m: Message): void }).send(m)

/** Token boundaries of a text: where honest nodes type (never inside another token). */
export const cutsOf = (text: string): number[] => [
  0,
  text.length,
  ...[...text.matchAll(/>/g)].map((x) => x.index + 1),
]

/**
 * The seeds of a property test as vitest cases of 100 seeds each, `atOnce` at a time (a document
 * each) on one world per case: MESHPAD_SEEDS seeds from 1 (default `seeds`), or one, MESHPAD_SEED.
 */
export function describeSeeds(
  name: string,
  options: { readonly seeds: number; readonly atOnce: number; readonly state?: NodeState },
  runSeed: (w: World, seed: number) => Promise<void>,
): void {
  const one = process.env.MESHPAD_SEED ? Number(process.env.MESHPAD_SEED) : undefined
  const count = one !== undefined ? 1 : Number(process.env.MESHPAD_SEEDS ?? options.seeds)
  const first = one ?? 1
  describe(name, () => {
    const worlds: World[] = []
    afterAll(async () => {
      await cleanup(worlds.flatMap((w) => [w.a, w.b, w.c, w.m]))
    })
    for (let from = first; from < first + count; from += PER_CASE) {
      const to = Math.min(from + PER_CASE, first + count) - 1
      it(`seeds ${from}–${to}`, async () => {
        const w = await world(from % 2 === 1, options.state)
        worlds.push(w)
        for (let s = from; s <= to; s += options.atOnce) {
          const batch: Promise<void>[] = []
          for (let k = s; k <= Math.min(to, s + options.atOnce - 1); k++) batch.push(runSeed(w, k))
          await Promise.all(batch)
        }
      }, 600_000)
    }
  })
}
