/**
 * The collaboration API over three real nodes (TCP + Noise on 127.0.0.1, no discovery), each with its
 * AppService and one window client: Nearby, join by request, join by invite, members and roles,
 * presence, properties, settings and working offline — what the panels in the renderer call.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ApiEvent, ApiResult } from '../../../src/shared/api'
import { TextDoc } from '../../../src/shared/crdt'
import { AppService, type AppClient } from '../../../src/main/hosts/app-service'
import { decodeInvite } from '../../../src/main/node/invite-code'
import { PeerNode } from '../../../src/main/node/peer-node'

function value<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`)
  return result.value
}

interface Side {
  node: PeerNode
  service: AppService
  api: AppClient
  events: ApiEvent[]
  dataDir: string
}

async function start(name: string): Promise<Side> {
  const dataDir = mkdtempSync(join(tmpdir(), `meshpad-collab-${name}-`))
  const node = await PeerNode.start({ dataDir, name, host: '127.0.0.1', antiEntropyMs: 300 })
  const service = new AppService({ node, host: 'browser', version: 'test', dataDir })
  const events: ApiEvent[] = []
  return { node, service, api: service.connect((e) => events.push(e)), events, dataDir }
}

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const eventOf = <T extends ApiEvent['type']>(
  side: Side,
  type: T,
  match: (e: Extract<ApiEvent, { type: T }>) => boolean = () => true,
) =>
  until(
    () =>
      side.events.find(
        (e): e is Extract<ApiEvent, { type: T }> =>
          e.type === type && match(e as Extract<ApiEvent, { type: T }>),
      ),
    `a ${type} event`,
  )

describe('collaboration API', () => {
  let a: Side
  let b: Side
  let c: Side
  let docId: string

  beforeAll(async () => {
    ;[a, b, c] = await Promise.all([start('ana'), start('ben'), start('cy')])
    docId = value(await a.api.newDocument('Plan')).docId
  })

  afterAll(async () => {
    for (const s of [a, b, c]) {
      s?.service.close()
      await s?.node.close()
    }
  })

  it('lists a document shared on the LAN under Nearby, and joins it by request', async () => {
    expect(await b.api.addPeer('not an address')).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    const address = `127.0.0.1:${a.node.port}`
    expect(value(await b.api.addPeer(` ${address} `))).toBe(address)
    // The outcome follows as an event: connected, to whom.
    expect(await eventOf(b, 'peer-added', (e) => e.address === address)).toMatchObject({
      ok: true,
      name: 'ana',
    })
    const shared = value(await a.api.setSharedOnLan(docId, true))
    expect(shared).toMatchObject({ sharedOnLan: true, myRole: 'owner' })
    const nearby = await eventOf(b, 'nearby', (e) => e.devices.some((d) => d.docs.length > 0))
    const ana = nearby.devices.find((d) => d.name === 'ana')!
    expect(ana.deviceId).toBe(a.node.identity.deviceId)
    expect(ana.docs).toEqual([{ docId, title: 'Plan', ownerName: 'ana', memberCount: 1, joined: false }])

    value(await b.api.requestJoin(ana.device, docId))
    const request = (await eventOf(a, 'join-request')).request
    expect(request).toMatchObject({
      docId,
      docTitle: 'Plan',
      name: 'ben',
      deviceId: b.node.identity.deviceId,
    })
    expect(value(await a.api.joinRequests())).toHaveLength(1)
    value(await a.api.answerJoin(request.id, true, 'editor'))
    expect(await eventOf(b, 'joined', (e) => e.docId === docId)).toMatchObject({ ok: true })
    const opened = value(await b.api.openDocument(docId))
    expect(opened.role).toBe('editor')
  })

  it('takes back the notification of a join request whose requester left', async () => {
    value(await a.api.setSharedOnLan(docId, true)) // join requests are for documents shared on the LAN
    const dee = await start('dee')
    try {
      value(await dee.api.addPeer(`127.0.0.1:${a.node.port}`))
      await until(() => dee.node.workspace.peers().length > 0, 'dee connected to ana')
      value(await dee.api.requestJoin(a.node.workspace.self, docId))
      await eventOf(a, 'join-request', (e) => e.request.name === 'dee')
    } finally {
      dee.service.close()
      await dee.node.close()
    }
    const request = a.events.find((e) => e.type === 'join-request' && e.request.name === 'dee')
    const id = request?.type === 'join-request' ? request.request.id : ''
    await eventOf(a, 'join-answered', (e) => e.id === id)
    expect(value(await a.api.joinRequests()).map((r) => r.id)).not.toContain(id)
  })

  it('joins by invite code as a viewer, who cannot edit', async () => {
    const invite = value(await a.api.createInvite(docId, 'viewer'))
    expect(invite.link).toBe(`meshpad://join/${invite.code}`)
    expect(invite.expires).toBeGreaterThan(Date.now())
    expect(await a.api.createInvite(docId, 'owner')).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await c.api.joinWithInvite('garbage!')).toMatchObject({ ok: false, code: 'BAD_INVITE' })
    expect(value(await c.api.joinWithInvite(invite.link))).toBe(docId)
    expect(await eventOf(c, 'joined', (e) => e.docId === docId)).toMatchObject({ ok: true })
    const opened = value(await c.api.openDocument(docId))
    expect(opened.role).toBe('viewer')
    const replica = new TextDoc(opened.replica)
    replica.applyRemote(opened.state)
    expect(await c.api.pushOps(docId, replica.localInsert(0, 'x'))).toMatchObject({
      ok: false,
      code: 'NOT_ALLOWED',
    })
    // An invite works once.
    expect(await a.api.createInvite(docId, 'editor')).toMatchObject({ ok: true })
  })

  it('says what is wrong with a pasted invite, and what to do', async () => {
    const nonsense = await c.api.joinWithInvite('thisisnotaninvitecodeatall')
    expect(nonsense).toMatchObject({
      ok: false,
      code: 'BAD_INVITE',
      message: expect.stringMatching(
        /^That is not a Meshpad invite: check that you copied the whole code or link/,
      ) as unknown,
    })
    expect(!nonsense.ok && nonsense.message).not.toMatch(/version/i)
    const invite = value(await a.api.createInvite(docId, 'viewer'))
    expect(await c.api.joinWithInvite(invite.link.slice(0, -10))).toMatchObject({
      ok: false,
      code: 'BAD_INVITE',
      message: expect.stringMatching(
        /^That invite is incomplete or damaged: check that you copied/,
      ) as unknown,
    })
    expect(await c.api.joinWithInvite(42 as unknown as string)).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^Paste the invite code/) as unknown,
    })
  })

  it('lists an owner’s open invites, and a revoked one no longer lets anyone in', async () => {
    const sharingEvents = (): number => a.events.filter((e) => e.type === 'sharing').length
    const before = sharingEvents()
    const invite = value(await a.api.createInvite(docId, 'editor'))
    const id = decodeInvite(invite.code).inviteId
    // Made: listed, and the owner's windows hear of it.
    expect(value(await a.api.sharing(docId)).invites).toContainEqual({
      id,
      role: 'editor',
      expires: invite.expires,
    })
    expect(sharingEvents()).toBeGreaterThan(before)
    // Not an owner (cy is a viewer): no invites listed, and none to revoke.
    expect(value(await c.api.sharing(docId)).invites).toEqual([])
    expect(await c.api.revokeInvite(docId, id)).toMatchObject({ ok: false, code: 'NOT_ALLOWED' })
    for (const bad of ['0'.repeat(32), 42, null]) {
      expect(await a.api.revokeInvite(docId, bad as string)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    }
    expect(await a.api.revokeInvite('not a doc', id)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })

    const revoked = value(await a.api.revokeInvite(docId, id))
    expect(revoked.invites.map((i) => i.id)).not.toContain(id)
    const last = a.events.filter((e) => e.type === 'sharing').at(-1)
    expect(last?.type === 'sharing' && last.sharing.invites.map((i) => i.id)).not.toContain(id)
    expect(await a.api.revokeInvite(docId, id)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })

    // The code itself still reaches the owner, who turns it down: no way in.
    const dee = await start('dee')
    try {
      expect(value(await dee.api.joinWithInvite(invite.link))).toBe(docId)
      expect(await eventOf(dee, 'joined', (e) => e.docId === docId)).toMatchObject({ ok: false })
      expect(dee.node.workspace.doc(docId)?.myRole).toBeUndefined()
    } finally {
      dee.service.close()
      await dee.node.close()
    }
    expect(
      a.node.workspace
        .doc(docId)!
        .members()
        .some((m) => m.record.name === 'dee'),
    ).toBe(false)
  })

  it('lists members with roles and online state; only an owner changes roles or removes', async () => {
    const members = await until(() => {
      const info = a.events.filter((e) => e.type === 'sharing').at(-1)
      return info && info.type === 'sharing' && info.sharing.members.length === 3
        ? info.sharing.members
        : undefined
    }, 'three members')
    const byName = Object.fromEntries(members.map((m) => [m.name, m]))
    expect(byName['ana']).toMatchObject({ role: 'owner', me: true, online: true, creator: true })
    expect(byName['ben']).toMatchObject({ role: 'editor', me: false, creator: false, flagged: false })
    expect(byName['cy']).toMatchObject({ role: 'viewer', deviceId: c.node.identity.deviceId })
    expect(members.filter((m) => m.flagged)).toEqual([])
    // Everyone sees who created it (the root of the signed member list), not only the owner.
    const seenByCy = value(await c.api.sharing(docId)).members
    expect(seenByCy.filter((m) => m.creator).map((m) => m.name)).toEqual(['ana'])
    // A device the member list caught equivocating is flagged (forging one takes a second owner's
    // signing key, so the detector's answer is stood in for here; member-log tests cover detecting).
    const session = a.node.workspace.doc(docId)!
    const spy = vi.spyOn(session, 'equivocators').mockReturnValue([byName['ben']!.device])
    try {
      const flagged = value(await a.api.sharing(docId)).members.filter((m) => m.flagged)
      expect(flagged.map((m) => m.name)).toEqual(['ben'])
    } finally {
      spy.mockRestore()
    }
    expect(await b.api.setRole(docId, byName['cy']!.device, 'editor')).toMatchObject({
      ok: false,
      code: 'NOT_ALLOWED',
    })
    const changed = value(await a.api.setRole(docId, byName['cy']!.device, 'editor'))
    expect(changed.members.find((m) => m.name === 'cy')?.role).toBe('editor')
    await until(() => c.node.workspace.doc(docId)?.myRole === 'editor', 'cy to become an editor')
    expect(await a.api.removeMember(docId, byName['ana']!.device)).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    })
  })

  it('shows each person’s cursor, anchored to characters, with their name and colour', async () => {
    const bDoc = value(await b.api.openDocument(docId))
    const replica = new TextDoc(bDoc.replica)
    replica.applyRemote(bDoc.state)
    value(await b.api.pushOps(docId, replica.localInsert(0, 'hello world')))
    value(await a.api.openDocument(docId))
    value(await b.api.setSettings({ color: '#0090FF' }))
    value(await b.api.setPresence(docId, { anchor: replica.cursorAnchor(6), head: replica.cursorAnchor(11) }))
    const seen = await eventOf(a, 'presence', (e) => e.people.some((p) => p.cursor !== null))
    const ben = seen.people.find((p) => p.name === 'ben')!
    expect(ben).toMatchObject({ color: '#0090ff', deviceId: b.node.identity.deviceId })
    const aDoc = a.node.workspace.doc(docId)!
    expect(aDoc.durable.text.cursorIndex(ben.cursor!.anchor)).toBe(6)
    expect(await b.api.setPresence(docId, { anchor: { replica: 7 }, head: null } as never)).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    })
    // Authors name the replica that typed.
    expect(value(await a.api.authors(docId))[bDoc.replica]).toMatchObject({ name: 'ben', color: '#0090ff' })
  })

  it('syncs properties, last writer wins, with the author records kept internal', async () => {
    value(await a.api.setProp(docId, 'language', 'markdown'))
    const props = await eventOf(b, 'props', (e) => e.props.some((p) => p.key === 'language'))
    expect(props.props).toEqual([
      { key: 'language', value: 'markdown' },
      { key: 'title', value: 'Plan' },
    ])
    expect(await a.api.setProp(docId, 'author:x', 'y')).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await a.api.setProp(docId, '', 'y')).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await a.api.setProp(docId, 'big', 'x'.repeat(16 * 1024 + 1))).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    })
    // A bounded number, so that a document's properties always fit one sync reply.
    const room = 128 - value(await a.api.props(docId)).length
    for (let i = 0; i < room; i++) value(await a.api.setProp(docId, `k${i}`, 'v'))
    expect(await a.api.setProp(docId, 'one-too-many', 'v')).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    value(await a.api.setProp(docId, 'k0', 'updating an existing one is fine'))
    for (let i = 0; i < room; i++) value(await a.api.deleteProp(docId, `k${i}`))
    value(await b.api.deleteProp(docId, 'language'))
    await until(() => a.node.workspace.doc(docId)?.durable.props.get('language') === undefined, 'the delete')
  })

  it('keeps settings across restarts and rejects bad ones', async () => {
    const s = value(await c.api.setSettings({ displayName: 'Cy D.', color: '#12A594' }))
    expect(s).toMatchObject({
      displayName: 'Cy D.',
      color: '#12a594',
      deviceId: c.node.identity.deviceId,
      online: true,
      keepDeleted: 4,
    })
    expect(JSON.parse(readFileSync(join(c.dataDir, 'settings.json'), 'utf8'))).toEqual({
      displayName: 'Cy D.',
      color: '#12a594',
      keepDeleted: null,
    })
    expect(await c.api.setSettings({ color: 'red' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(await c.api.setSettings({ displayName: '  ' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    // How much deleted text documents keep: what each compaction reads (text-retention.ts).
    expect(c.node.workspace.keepDeleted).toBe(4)
    expect(value(await c.api.setSettings({ keepDeleted: 'all' })).keepDeleted).toBe('all')
    expect(c.node.workspace.keepDeleted).toBe(Infinity)
    expect(value(await c.api.setSettings({ keepDeleted: 16 })).keepDeleted).toBe(16)
    expect(c.node.workspace.keepDeleted).toBe(16)
    for (const bad of [-1, 'lots', Infinity, 2e6])
      expect(await c.api.setSettings({ keepDeleted: bad as number })).toMatchObject({
        ok: false,
        code: 'BAD_REQUEST',
      })
    c.node.workspace.keepDeleted = 4
    const again = new AppService({ node: c.node, host: 'browser', version: 'test', dataDir: c.dataDir })
    expect(value(await again.connect(() => undefined).settings())).toMatchObject({
      displayName: 'Cy D.',
      keepDeleted: 16,
    })
    expect(c.node.workspace.keepDeleted).toBe(16)
    again.close()
  })

  it('works offline: no connections while off, and everything resyncs when back', async () => {
    await until(() => c.node.workspace.peers().length > 0, 'cy connected')
    value(await c.api.setSettings({ online: false }))
    expect(c.node.workspace.peers()).toHaveLength(0)
    await new Promise((r) => setTimeout(r, 700)) // peers redial; they must be turned away
    expect(c.node.workspace.peers()).toHaveLength(0)
    expect(value(await c.api.status(docId)).online).toBe(false)
    await a.node.workspace.doc(docId)!.insert(0, 'while cy was away: ')
    expect(c.node.workspace.doc(docId)!.text).not.toContain('while cy was away')
    value(await c.api.setSettings({ online: true }))
    await until(
      () => c.node.workspace.doc(docId)?.text.startsWith('while cy was away: '),
      'the resync',
      15_000,
    )
  })

  it('shows who is connected as connections open and close, in members and presence (issue 13)', async () => {
    const cy = c.node.workspace.self
    const cyOnline = (e: ApiEvent): boolean | undefined =>
      e.type === 'sharing' ? e.sharing.members.find((m) => m.device === cy)?.online : undefined
    const cyHere = (e: ApiEvent): boolean | undefined =>
      e.type === 'presence' ? e.people.some((p) => p.device === cy) : undefined
    value(await c.api.openDocument(docId))
    value(await c.api.setPresence(docId, { anchor: null, head: null }))
    await eventOf(a, 'presence', (e) => cyHere(e) === true)
    const mark = a.events.length
    const since = (): ApiEvent[] => a.events.slice(mark)
    // Well within the 30 s that presence lasts: the closed connection tells.
    value(await c.api.setSettings({ online: false }))
    await until(() => since().some((e) => cyOnline(e) === false), 'cy offline in members', 3000)
    await until(() => since().some((e) => cyHere(e) === false), 'cy gone from presence', 3000)
    value(await c.api.setSettings({ online: true }))
    await until(() => since().some((e) => cyOnline(e) === true), 'cy online in members', 10_000)
  })

  it('tells of a restore that removed someone’s text when their window next opens the document', async () => {
    const ben = b.node.workspace.self
    value(await b.api.openDocument(docId))
    value(await b.api.closeDocument(docId)) // Ben's node keeps the document, but no window shows it
    const mark = b.events.length
    const report = { version: 3, of: 9, versionAt: Date.now() - 60_000, removed: { [ben]: 4 } }
    value(await a.api.noteRestore(docId, report))
    const record = (): unknown => b.node.workspace.doc(docId)?.durable.props.get('restore:last')
    await until(() => (record() as { at?: number } | undefined)?.at !== undefined, 'the record at ben’s node')
    await new Promise((r) => setTimeout(r, 100))
    expect(b.events.slice(mark).some((e) => e.type === 'restored')).toBe(false)
    // His window opens the document: told once, with who did it and how much of his text went.
    value(await b.api.openDocument(docId))
    const told = await eventOf(b, 'restored', (e) => e.docId === docId)
    expect(told.restore).toMatchObject({ device: a.node.workspace.self, name: 'ana', removed: 4 })
    value(await b.api.closeDocument(docId))
    value(await b.api.openDocument(docId))
    await new Promise((r) => setTimeout(r, 100))
    expect(b.events.slice(mark).filter((e) => e.type === 'restored')).toHaveLength(1)
  })
})

describe('a restore told across runs', () => {
  it('tells of a restore made while Meshpad was closed at the next open, and never again', async () => {
    const ana = await start('ana')
    let ben = await start('ben')
    let running = true
    const stop = async (): Promise<void> => {
      running = false
      ben.service.close()
      await ben.node.close()
    }
    const restart = async (): Promise<void> => {
      if (running) await stop()
      running = true
      const node = await PeerNode.start({
        dataDir: ben.dataDir,
        name: 'ben',
        host: '127.0.0.1',
        antiEntropyMs: 300,
      })
      const service = new AppService({ node, host: 'browser', version: 'test', dataDir: ben.dataDir })
      const events: ApiEvent[] = []
      ben = { node, service, api: service.connect((e) => events.push(e)), events, dataDir: ben.dataDir }
    }
    try {
      const docId = value(await ana.api.newDocument('Notes')).docId
      const { code } = value(await ana.api.createInvite(docId, 'editor'))
      value(await ben.api.joinWithInvite(code))
      await eventOf(ben, 'joined', (e) => e.docId === docId)
      const benSelf = ben.node.workspace.self
      // Ben's Meshpad is closed when Ana restores a version that removes his text.
      await stop()
      const report = { version: 2, of: 5, versionAt: Date.now() - 60_000, removed: { [benSelf]: 7 } }
      value(await ana.api.noteRestore(docId, report))
      await restart()
      value(await ben.api.addPeer(`127.0.0.1:${ana.node.port}`))
      const record = (): unknown => ben.node.workspace.doc(docId)?.durable.props.get('restore:last')
      await until(
        () => (record() as { at?: number } | undefined)?.at !== undefined,
        'the record at ben’s node',
      )
      value(await ben.api.openDocument(docId))
      const told = await eventOf(ben, 'restored', (e) => e.docId === docId)
      expect(told.restore).toMatchObject({ device: ana.node.workspace.self, name: 'ana', removed: 7 })
      // Told once: not again in this run, nor in the next.
      value(await ben.api.closeDocument(docId))
      value(await ben.api.openDocument(docId))
      await restart()
      value(await ben.api.openDocument(docId))
      await new Promise((r) => setTimeout(r, 200))
      expect(ben.events.filter((e) => e.type === 'restored')).toHaveLength(0)
    } finally {
      if (running) await stop()
      ana.service.close()
      await ana.node.close()
    }
  })
})
