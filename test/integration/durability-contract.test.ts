/**
 * The durability contract (src/main/storage/README.md), on real nodes over TCP + Noise with real files:
 * a local edit is sent to peers once its log record is written, before its fsync (so a peer's wait is
 * not the sender's disk flush), and the caller hears that it is accepted only once it is fsynced. A
 * replica's first edit goes the same way, with its claim and author record written ahead of it. An
 * edit whose write fails is sent to no one.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TextDoc } from '../../src/shared/crdt'
import { AUTHOR_PREFIX } from '../../src/main/node/signed-props'
import { StorageError } from '../../src/main/storage/errors'
import { FaultyFs } from '../main/storage/faulty-fs'
import { TcpCluster } from './tcp-nodes'
import { sleep, until } from './util'

/** Every op-log segment of one document in a node's data dir, concatenated: what the OS holds now. */
function logBytes(dataDir: string, docId: string): Buffer {
  const dir = join(dataDir, 'docs', docId)
  const segments = readdirSync(dir).filter((f) => f.startsWith('log-'))
  return Buffer.concat(segments.map((f) => readFileSync(join(dir, f))))
}

describe('durability contract', () => {
  const cluster = new TcpCluster()
  afterEach(() => cluster.closeAll())

  /** Alice, whose disk the test controls, and Bob, who joined her document holding `text`. */
  async function aliceAndBob(text: string, options: { antiEntropyMs?: number } = {}) {
    const fs = new FaultyFs()
    const alice = await cluster.start('alice', { storageFs: fs, ...options })
    const bob = await cluster.start('bob', options)
    const doc = await cluster.createDoc(alice, text)
    const bobDoc = await cluster.join(alice, bob, doc.docId)
    return { fs, alice, doc, bobDoc }
  }

  it('sends a local edit once written, before its fsync, and acknowledges it only once fsynced', async () => {
    const { fs, alice, doc, bobDoc } = await aliceAndBob('hello')

    // A window's replica (its first edit, which makes its claim durable, before the disk is held).
    const window = new TextDoc(doc.mintReplica())
    window.applyRemote(doc.durable.allTextOps())
    await doc.applyLocalBatch(window.localInsert(window.length, '.'))

    let openGate = (): void => undefined
    fs.syncGate = { pathIncludes: 'log-', open: new Promise<void>((r) => (openGate = r)) }
    let acknowledged = false
    const insert = doc.insert(0, 'oh, ').then(() => (acknowledged = true))
    await until('bob has the edit', () => bobDoc.text === 'oh, hello.', 10_000)
    // Bob has it while Alice's fsync is still held: the wire did not wait for the disk flush...
    expect(acknowledged).toBe(false)
    // ...but for the write: the record is in Alice's log file, so a crash of her process keeps it.
    expect(logBytes(alice.dir, doc.docId).includes(Buffer.from('oh, '))).toBe(true)
    // The windows' path (a batch from a local replica) is the same: sent at once, acknowledged later.
    let windowAcknowledged = false
    const pushed = doc
      .applyLocalBatch(window.localInsert(window.length, '!'))
      .then(() => (windowAcknowledged = true))
    await until('bob has the window’s edit', () => bobDoc.text === 'oh, hello.!', 10_000)
    await sleep(50)
    expect(acknowledged || windowAcknowledged).toBe(false)
    openGate()
    await Promise.all([insert, pushed])
    expect(acknowledged && windowAcknowledged).toBe(true)
  })

  it('sends a new replica’s first edit once written, its claim and author record with it, before their fsync', async () => {
    const { fs, alice, doc, bobDoc } = await aliceAndBob('hello')

    let openGate = (): void => undefined
    fs.syncGate = { pathIncludes: 'log-', open: new Promise<void>((r) => (openGate = r)) }
    // A window that opens and types: its replica's claim and author record are made with this edit.
    const replica = doc.mintReplica()
    const window = new TextDoc(replica)
    window.applyRemote(doc.durable.allTextOps())
    let acknowledged = false
    const pushed = doc
      .applyLocalBatch(window.localInsert(window.length, '!'))
      .then(() => (acknowledged = true))
    // Bob takes it on the direct path, which needs the claim, and knows whose it is; Alice's fsync of
    // all three is still held (it waited for that fsync, and a keystroke typed then for it too).
    await until('bob has the first edit', () => bobDoc.text === 'hello!', 10_000)
    await until(
      'bob has its author record',
      () => bobDoc.durable.props.get(`${AUTHOR_PREFIX}${replica}`) !== undefined,
      10_000,
    )
    expect(bobDoc.durable.props.get(`${AUTHOR_PREFIX}${replica}`)).toMatchObject({ device: alice.self })
    expect(acknowledged).toBe(false)
    openGate()
    await pushed
    expect(acknowledged).toBe(true)
  })

  it('seals what it sent before it closes: edits made just before quitting reach peers through relays', async () => {
    // alice — bob — carol: carol hears of alice's edits only through bob, which needs alice's seal.
    const alice = await cluster.start('alice')
    const bob = await cluster.start('bob')
    const carol = await cluster.start('carol')
    const doc = await cluster.createDoc(alice, 'start')
    await cluster.join(alice, bob, doc.docId, 'owner')
    const carolDoc = await cluster.join(bob, carol, doc.docId)
    expect(carol.node.workspace.session(alice.self)).toBeUndefined()
    await doc.insert(5, ', typed just before quitting')
    await alice.node.close() // well within the 1 s after which a pause in typing is sealed
    await until(
      'carol has the last edit',
      () => carolDoc.text === 'start, typed just before quitting',
      10_000,
    )
  })

  it('sends no edit whose write failed, and sends it once the disk takes it', async () => {
    const { fs, doc, bobDoc } = await aliceAndBob('base', { antiEntropyMs: 200 })

    // A full disk: every write to the log fails (anti-entropy's flushes retry it, and fail too).
    fs.inject({ op: 'write', nth: 1, times: 1_000_000, code: 'ENOSPC', pathIncludes: 'log-' })
    await expect(doc.insert(4, ' kept')).rejects.toBeInstanceOf(StorageError)
    expect(doc.text).toBe('base kept') // kept in memory and queued, as before
    await sleep(600) // three anti-entropy rounds: nothing unwritten may leave the node
    expect(bobDoc.text).toBe('base')
    // The disk has room again: the next edit writes the kept one first, and both reach Bob.
    fs.faults.length = 0
    await doc.insert(doc.text.length, ' no')
    await until('bob has both edits', () => bobDoc.text === 'base kept no', 10_000)
  })
})
