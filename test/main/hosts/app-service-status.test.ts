/**
 * The status a window is told (issue 13, "wrong states"): every field true at all times, each change
 * sent as an event of the node. "Offline" is the Work offline switch, not the lack of peers.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiEvent, ApiResult, DocStatus } from '../../../src/shared/api'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { PeerNode } from '../../../src/main/node/peer-node'
import { until } from '../../support/e2e'
import type { PeerSession } from '../../../src/shared/sync/session'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

describe('document status', () => {
  let node: PeerNode
  let service: AppService
  let window: AppClient
  const events: ApiEvent[] = []
  const statuses = (docId: string): DocStatus[] =>
    events.flatMap((e) => (e.type === 'status' && e.status.docId === docId ? [e.status] : []))

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshpad-status-'))
    node = await PeerNode.start({ dataDir, name: 'ada', host: '127.0.0.1', antiEntropyMs: 0 })
    service = new AppService({ node, host: 'browser', version: 'test', dataDir })
    window = service.connect((e) => events.push(e))
  })

  afterAll(async () => {
    service.close()
    await node.close()
  })

  it('says a new document is online with no peers, and offline only while working offline', async () => {
    const doc = value(await window.newDocument(''))
    expect(value(await window.status(doc.docId))).toMatchObject({ online: true, peers: 0, syncing: false })
    // No peer, so no connection closes: the switch itself tells the window.
    value(await window.setSettings({ online: false }))
    await until(() => statuses(doc.docId).at(-1)?.online === false, 'an offline status event')
    value(await window.setSettings({ online: true }))
    await until(() => statuses(doc.docId).at(-1)?.online === true, 'an online status event')
  })

  it('tells a window every change from the status it last had, whether from an event or a reply', async () => {
    const doc = value(await window.newDocument(''))
    expect(doc.status).toMatchObject({ docId: doc.docId, syncing: false })
    // Another window hears of a change first (each window is told from what it had).
    const other: ApiEvent[] = []
    const second = service.connect((e) => other.push(e))
    value(await second.openDocument(doc.docId))
    // A peer's sync-request names text this device lacks: syncing. The 'sync' event waits a moment
    // (so that anti-entropy does not flash "Syncing"), but a window that asks is told.
    const peer = {
      ready: true,
      roleOf: () => 'editor',
      isAuthenticated: () => true,
    } as unknown as PeerSession
    const session = node.workspace.doc(doc.docId)!
    // Over before anyone asked: nothing changed for the windows.
    session.peerVersions(peer, [{ ghost: 5 }, {}, {}, {}])
    session.forgetPeer(peer)
    session.peerVersions(peer, [{ ghost: 5 }, {}, {}, {}])
    expect(value(await window.status(doc.docId))).toMatchObject({ syncing: true, progress: 0 })
    const before = statuses(doc.docId).length
    // The peer leaves: the window that was told "syncing" hears that it is over.
    session.forgetPeer(peer)
    await until(() => statuses(doc.docId).length > before, 'the status event')
    expect(statuses(doc.docId).at(-1)).toMatchObject({ syncing: false })
    // The other window never heard "syncing", so it is told nothing: its status did not change.
    expect(other.filter((e) => e.type === 'status')).toEqual([])
    second.close()
  })
})
