/**
 * An acknowledged edit is never dropped in silence (issue 16): a stored record that passes its checksum
 * but cannot be applied, and ops whose dependency never arrived, are reported to the person by the CLI
 * and the app; the document opens with everything else; and the records stay on disk, uncompacted,
 * across edits and restarts. Real processes, a real data dir.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { ApiEvent, ApiResult } from '../../src/shared/api'
import { TextDoc } from '../../src/shared/crdt'
import { AppService } from '../../src/main/hosts/app-service'
import { PeerNode } from '../../src/main/node/peer-node'
import { FileStore } from '../../src/main/storage/file-store'
import { CliPeer, killAllPeers } from './cli-peer'
import { until } from './util'

afterEach(killAllPeers)

const TEXT_RECORD = 1
/** Passes the log's checksum (the store writes it), but no version of the text codec reads it. */
const UNREADABLE = new Uint8Array([TEXT_RECORD, 0xff, 0xff, 0xff])

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

it('reports unreadable and waiting records in the CLI and the app, and keeps them on disk', async () => {
  const peer = await CliPeer.start({ name: 'ada', text: 'first line\n' })
  await peer.run('edit insert 0 "\\ufeffkept "')
  const before = await peer.view()
  await peer.close()

  const docsDir = join(peer.dataDir, 'docs')
  const [docId] = await readdir(docsDir)
  // A peer's edit whose first half never arrived: it waits, and must survive every compaction.
  const stranger = new TextDoc('stranger')
  stranger.localInsert(0, 'lost ')
  const waiting = stranger.localInsert(5, 'half')
  const store = new FileStore({ dir: docsDir })
  await store.load(docId!)
  await store.append(docId!, [UNREADABLE, new Uint8Array([TEXT_RECORD, ...waiting])])
  await store.close()

  await peer.restart()
  const warnings = (): string[] => peer.transcript.filter((l) => l.startsWith('warning: '))
  expect(warnings()).toEqual([
    expect.stringMatching(/1 saved change of this document could not be read .* kept on disk untouched/),
    expect.stringMatching(/1 change of this document wait for earlier changes/),
  ])
  expect((await peer.view()).text).toBe(before.text)
  // Later edits are stored as usual (that compaction is held meanwhile is in durable-doc.test.ts).
  const edits = Array.from({ length: 40 }, (_, i) => `edit insert 0 "${i % 10}"`)
  await peer.send(edits)
  const after = await peer.view()
  await peer.close()

  const loaded = await new FileStore({ dir: docsDir }).load(docId!)
  expect(loaded?.snapshot ?? null).toBeNull()
  expect(loaded?.records).toEqual(expect.arrayContaining([UNREADABLE]))

  // The app tells the window, over the document it opened.
  const node = await PeerNode.start({
    dataDir: peer.dataDir,
    name: 'ada',
    host: '127.0.0.1',
    antiEntropyMs: 0,
  })
  const service = new AppService({ node, host: 'browser', version: 'test', dataDir: peer.dataDir })
  const events: ApiEvent[] = []
  const window = service.connect((e) => events.push(e))
  try {
    const opened = value(await window.openDocument(docId!))
    const replica = new TextDoc('window')
    replica.applyRemote(opened.state)
    expect(replica.toString()).toBe(after.text)
    await until('two error events', () => events.filter((e) => e.type === 'error').length === 2, 5_000)
    const messages = events.flatMap((e) => (e.type === 'error' ? [e.error.message] : []))
    expect(messages[0]).toMatch(/could not be read/)
    expect(messages[1]).toMatch(/wait for earlier changes/)
  } finally {
    window.close()
    service.close()
    await node.close()
  }
})
