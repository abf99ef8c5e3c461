/**
 * Documents larger than one frame (8 MiB) over real TCP + Noise on 127.0.0.1: a joiner gets a ~9 MB
 * document (one insert op of 9 M characters, as opening a big file makes), a connected peer gets a
 * ~9 MB paste live, and a peer that was apart reports its catch-up as "syncing" with rising progress.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { DocStatus } from '../../src/shared/api'
import { AppService } from '../../src/main/hosts/app-service'
import type { DocSession } from '../../src/main/node/doc-session'
import { TcpCluster } from './tcp-nodes'
import { HOST, until } from './util'

const log = (line: string): void => console.log(`[large-docs] ${line}`)

/** `n` characters of text that does not repeat in an obvious way (lines of numbered words). */
function bigText(n: number, seed = 1): string {
  const parts: string[] = []
  let length = 0
  for (let i = 0; length < n; i++) {
    const line = `line ${i * seed} — ${(i * 2654435761) >>> 0} 🙂 lorem ipsum dolor sit amet\n`
    parts.push(line)
    length += line.length
  }
  return parts
    .join('')
    .slice(0, n)
    .replace(/[\uD800-\uDBFF]$/, 'x')
}

/** Every 'sync' state a document reports, in order. */
function recordSync(doc: DocSession): { syncing: boolean; progress: number | null }[] {
  const states: { syncing: boolean; progress: number | null }[] = []
  doc.on('sync', () => states.push(doc.syncState()))
  return states
}

describe('large documents over TCP + Noise on 127.0.0.1', () => {
  const cluster = new TcpCluster()
  afterEach(() => cluster.closeAll())
  afterAll(() => cluster.closeAll())

  it('a joiner gets a 9 MB document (more than one 8 MiB frame) with the same text', async () => {
    const alice = await cluster.start('alice')
    const bob = await cluster.start('bob')
    const text = bigText(9_000_000)
    const aliceDoc = await cluster.createDoc(alice, text)
    const bobDoc = await cluster.join(alice, bob, aliceDoc.docId)
    expect(bobDoc.text.length).toBe(text.length)
    expect(bobDoc.text === text).toBe(true)
    expect(alice.log.lines.filter((l) => /frame|too large/i.test(l))).toEqual([])
  }, 30_000)

  it('a reply that cannot fit a frame (9 MB of properties) fails alone: the node and the link stay up', async () => {
    const alice = await cluster.start('alice')
    const bob = await cluster.start('bob')
    const small = await cluster.createDoc(alice, 'still served\n')
    const bobSmall = await cluster.join(alice, bob, small.docId)
    const heavy = await cluster.createDoc(alice, 'heavy\n')
    const value = 'p'.repeat(64 * 1024)
    for (let i = 0; i < 140; i++) await heavy.setProp(`k${i}`, value) // over 8 MiB in all
    const rejections: unknown[] = []
    const onRejection = (err: unknown): void => void rejections.push(err)
    process.on('unhandledRejection', onRejection)
    try {
      const code = await alice.node.workspace.createInvite(heavy.docId, 'editor', alice.node.addresses())
      await bob.node.joinWithInvite((await import('../../src/main/node/invite-code')).decodeInvite(code))
      await until(
        'the failed reply to be logged',
        () => alice.log.lines.some((l) => /sync-reply .* not sent/.test(l)),
        15_000,
      )
      // The other document still syncs over the same connection.
      await small.insert(0, '> ')
      await until('bob to get the small edit', () => bobSmall.text === '> still served\n', 10_000)
      expect(rejections).toEqual([])
    } finally {
      process.off('unhandledRejection', onRejection)
    }
  }, 60_000)

  it('a connected peer gets a 9 MB paste live', async () => {
    const alice = await cluster.start('alice')
    const bob = await cluster.start('bob')
    const aliceDoc = await cluster.createDoc(alice, 'small\n')
    const bobDoc = await cluster.join(alice, bob, aliceDoc.docId)
    const paste = bigText(9_000_000, 7)
    await aliceDoc.insert(3, paste)
    await until('bob got the paste', () => bobDoc.text.length === aliceDoc.text.length, 15_000)
    expect(bobDoc.text === aliceDoc.text).toBe(true)
  }, 30_000)

  it('a peer catching up on a 6 MB document reports syncing with rising progress, then up to date', async () => {
    const alice = await cluster.start('alice')
    const bob = await cluster.start('bob')
    const aliceDoc = await cluster.createDoc(alice, 'start\n')
    const bobDoc = await cluster.join(alice, bob, aliceDoc.docId)
    // Joined: the text counts as received once it is durable, just after it shows.
    await until('bob up to date after joining', () => !bobDoc.syncState().syncing, 5000)
    expect(bobDoc.syncState()).toEqual({ syncing: false, progress: null })
    bob.node.dialer.unwant(HOST, alice.node.port)
    bob.node.workspace.disconnect(alice.self)
    await until('apart', () => alice.node.workspace.peers().length === 0, 5000)
    // Many ops of 10,000 characters (not one): the progress counts characters, whatever the ops.
    const chunk = bigText(10_000, 3)
    let length = aliceDoc.text.length
    for (let i = 0; i < 600; i++) {
      await aliceDoc.insert(length, chunk)
      length += chunk.length
    }
    await aliceDoc.insert(0, bigText(100_000, 5))

    const expected = aliceDoc.textVersion()
    const lacking = Object.keys(expected).reduce(
      (n, r) => n + Math.max(0, expected[r]! - (bobDoc.textVersion()[r] ?? 0)),
      0,
    )
    // What bob's status bar is told (AppService status events of a window that has the document open).
    const app = new AppService({ node: bob.node, host: 'browser', version: 'test', dataDir: bob.dir })
    const statuses: DocStatus[] = []
    const client = app.connect((e) => {
      if (e.type === 'status') statuses.push(e.status)
    })
    const opened = await client.openDocument(bobDoc.docId)
    expect(opened.ok).toBe(true)
    const events = recordSync(bobDoc)
    // Also sampled between frames: events are throttled, the state itself is always current.
    const samples: { syncing: boolean; progress: number | null }[] = []
    const sampler = setInterval(() => samples.push(bobDoc.syncState()), 1)
    // What bob expects right when alice's sync-request arrives (before her reply).
    let expectedAtRequest = 0
    const peerVersions = bobDoc.peerVersions.bind(bobDoc)
    bobDoc.peerVersions = (from, v) => {
      peerVersions(from, v)
      expectedAtRequest = Math.max(expectedAtRequest, bobDoc.syncCounts().expected)
    }
    bob.node.add(HOST, alice.node.port)
    await until('bob caught up', () => bobDoc.text.length === aliceDoc.text.length, 20_000)
    await until('bob reports up to date', () => events.at(-1)?.syncing === false, 5000)
    clearInterval(sampler)
    app.close()
    expect(bobDoc.text === aliceDoc.text).toBe(true)
    expect(expectedAtRequest).toBe(lacking) // exactly the characters bob lacked
    const sequences: readonly (readonly { syncing: boolean; progress: number | null }[])[] = [
      events,
      samples,
      statuses,
    ]
    for (const states of sequences) {
      // Unknown (null) until alice's request says what she holds, then known and rising.
      const known = states.filter((s) => s.syncing && s.progress !== null)
      expect(states.slice(states.indexOf(known[0]!)).every((s) => !s.syncing || s.progress !== null)).toBe(
        true,
      )
      const progress = known.map((s) => s.progress!)
      for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!)
      expect(progress.every((p) => p >= 0 && p < 1)).toBe(true)
    }
    expect(samples.some((s) => s.syncing)).toBe(true)
    // Events: throttled (a fast catch-up may show none before the end), but exactly one end, last.
    expect(events.filter((s) => !s.syncing)).toHaveLength(1)
    expect(events.at(-1)).toEqual({ syncing: false, progress: null })
    // The status bar showed a part done (chunks arriving while others are still on their way; on
    // loopback a 6 MB catch-up takes a few tens of ms, so there are few such points).
    const shown = statuses.filter((st) => st.syncing && st.progress !== null).map((st) => st.progress!)
    expect(shown.some((p) => p > 0)).toBe(true)
    const rising = new Set(
      [...samples, ...statuses].filter((st) => st.progress !== null).map((st) => st.progress),
    )
    expect(rising.size).toBeGreaterThanOrEqual(2) // 0 when alice's request came, then more
    expect(bobDoc.syncState()).toEqual({ syncing: false, progress: null })
    expect(statuses.at(-1)).toMatchObject({ syncing: false, progress: null })
    log(
      `catch-up of ${lacking} characters: ${events.length} events, progress seen: ${[...rising].map((p) => `${Math.floor(p! * 100)}%`).join(' ')}`,
    )
  }, 40_000)
})
