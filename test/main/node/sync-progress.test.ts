/**
 * Sync progress as DocSession counts it: a peer's sync-request states its text version; the
 * characters (inserts and deletes, one counter each) this replica lacks from it are what it expects,
 * and the peer is forgotten once caught up with, disconnected or without access.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { missingCount, type DocSession } from '../../../src/main/node/doc-session'
import { cleanup, connect, joinByInvite as join, makeNode, until, type TestNode } from './cluster'

let nodes: TestNode[] = []
afterEach(async () => {
  await cleanup(nodes)
  nodes = []
})

/** Alice's document with bob and carol in it, everyone connected to alice. */
async function trio(): Promise<{ alice: TestNode; bob: TestNode; carol: TestNode; docs: DocSession[] }> {
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => makeNode(n)))
  nodes.push(alice!, bob!, carol!)
  const doc = await alice!.ws.createDoc('Notes')
  await doc.insert(0, 'hello world')
  const docs = [doc, await join(alice!, bob!, doc.docId), await join(alice!, carol!, doc.docId)]
  return { alice: alice!, bob: bob!, carol: carol!, docs }
}

describe('sync progress', () => {
  it('counts Σ max(0, theirs − ours) over replicas', () => {
    expect(missingCount({}, {})).toBe(0)
    expect(missingCount({ a: 5, b: 3 }, { a: 2 })).toBe(6)
    expect(missingCount({ a: 5 }, { a: 9, b: 4 })).toBe(0) // what they lack does not count
    expect(missingCount({ a: 5, b: 1 }, { a: 9, b: 0 })).toBe(1)
  })

  it('expects exactly the characters (inserted and deleted, every replica) bob lacks from alice', async () => {
    const { alice, bob, docs } = await trio()
    const [aliceDoc, bobDoc, carolDoc] = docs as [DocSession, DocSession, DocSession]
    bob.ws.disconnect(alice.self)
    await until('apart', () => bob.ws.session(alice.self) === undefined)
    await aliceDoc.insert(0, 'ab😀')
    await until('carol has alice’s edit', () => carolDoc.text === aliceDoc.text)
    await carolDoc.insert(0, 'xyz')
    await carolDoc.delete(0, 2)
    await until('alice has carol’s edits', () => aliceDoc.text === carolDoc.text)
    await aliceDoc.delete(6, 3)
    const lacking = missingCount(aliceDoc.textVersion(), bobDoc.textVersion())
    expect(lacking).toBe(4 + 3 + 2 + 3)

    // What bob counts right when alice's sync-request arrives (before her reply).
    const atRequest: { syncing: boolean; received: number; expected: number }[] = []
    const peerVersions = bobDoc.peerVersions.bind(bobDoc)
    bobDoc.peerVersions = (from, v) => {
      peerVersions(from, v)
      atRequest.push({ syncing: bobDoc.syncState().syncing, ...bobDoc.syncCounts() })
    }
    const events: boolean[] = []
    bobDoc.on('sync', () => events.push(bobDoc.syncState().syncing))
    connect(alice, bob)
    await until('caught up', () => bobDoc.text === aliceDoc.text && events.at(-1) === false)
    expect(atRequest[0]).toEqual({ syncing: true, received: 0, expected: lacking })
    // Over in less than SYNC_EVENT_MS: only the end is reported (no flash of "Syncing").
    expect(events).toEqual([false])
    expect(bobDoc.syncState()).toEqual({ syncing: false, progress: null })
    // Alice lacked nothing from bob: she never reported syncing.
    expect(aliceDoc.syncState().syncing).toBe(false)
  })

  it('forgets a peer whose connection closes, and one that loses access', async () => {
    const { alice, bob, carol, docs } = await trio()
    const [aliceDoc, bobDoc] = docs as [DocSession, DocSession]
    // Requests naming text nobody sends: syncing until the peer goes away.
    bobDoc.peerVersions(bob.ws.session(alice.self)!, [{ ghost: 10 }, {}, {}, {}])
    expect(bobDoc.syncState()).toEqual({ syncing: true, progress: 0 })
    expect(bobDoc.syncCounts()).toEqual({ received: 0, expected: 10 })
    const bobEvents: boolean[] = []
    bobDoc.on('sync', () => bobEvents.push(bobDoc.syncState().syncing))
    bob.ws.disconnect(alice.self)
    await until('bob forgot alice', () => !bobDoc.syncState().syncing)
    expect(bobEvents).toEqual([false])

    aliceDoc.peerVersions(alice.ws.session(carol.self)!, [{ ghost: 3 }, {}, {}, {}])
    expect(aliceDoc.syncState().syncing).toBe(true)
    await aliceDoc.removeMember(carol.self)
    expect(aliceDoc.syncState()).toEqual({ syncing: false, progress: null })
  })

  it('a joined document is syncing from the join until its first sync is done (issue 13)', async () => {
    const [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => makeNode(n)))
    nodes.push(alice!, bob!)
    const aliceDoc = await alice!.ws.createDoc('Notes')
    await aliceDoc.insert(0, 'hello world')
    // Bob's document as it opens on joining, empty: not "up to date", though no peer is counted yet.
    let atOpen: unknown
    const events: { syncing: boolean; text: string }[] = []
    bob!.ws.once('doc', (doc) => {
      atOpen = doc.syncState()
      doc.on('sync', () => events.push({ syncing: doc.syncState().syncing, text: doc.text }))
    })
    const bobDoc = await join(alice!, bob!, aliceDoc.docId)
    expect(atOpen).toEqual({ syncing: true, progress: null })
    await until('bob up to date', () => !bobDoc.syncState().syncing)
    // Never "up to date" without the text; the last word is "up to date".
    expect(events.filter((e) => !e.syncing).every((e) => e.text === 'hello world')).toBe(true)
    expect(events.at(-1)).toEqual({ syncing: false, text: 'hello world' })
  })

  it('a peer that authenticates is awaited until its sync-request says what it holds', async () => {
    const { alice, bob, docs } = await trio()
    const bobDoc = docs[1]!
    bob.ws.disconnect(alice.self)
    await until('apart', () => bob.ws.session(alice.self) === undefined)
    const atRequest: unknown[] = []
    const peerVersions = bobDoc.peerVersions.bind(bobDoc)
    bobDoc.peerVersions = (from, v) => {
      atRequest.push(bobDoc.syncState())
      peerVersions(from, v)
    }
    connect(alice, bob)
    await until('alice’s request', () => atRequest.length > 0)
    // Between alice's proof and her request, bob cannot know he lacks nothing.
    expect(atRequest[0]).toEqual({ syncing: true, progress: null })
    expect(bobDoc.syncState()).toEqual({ syncing: false, progress: null })
  })

  it('a later request from the same peer raises what is expected, keeping the baseline', async () => {
    const { alice, carol, docs } = await trio()
    const aliceDoc = docs[0]!
    const ghost = 'ghostReplica'
    aliceDoc.peerVersions(alice.ws.session(carol.self)!, [{ [ghost]: 4 }, {}, {}, {}])
    expect(aliceDoc.syncState().progress).toBe(0)
    // An anti-entropy probe from the same peer raises the target; the baseline is kept.
    aliceDoc.peerVersions(alice.ws.session(carol.self)!, [{ [ghost]: 8 }, {}, {}, {}])
    expect(aliceDoc.syncCounts()).toEqual({ received: 0, expected: 8 })
  })
})
