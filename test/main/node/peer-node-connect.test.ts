/**
 * PeerNode.connect, behind Add device by address (issue 13): it answers when the device has said
 * hello, or says why not, and keeps only an address that answered.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerNode } from '../../../src/main/node/peer-node'
import { closedPort } from '../../support/closed-port'

const start = (name: string): Promise<PeerNode> =>
  PeerNode.start({
    dataDir: mkdtempSync(join(tmpdir(), `meshpad-connect-${name}-`)),
    name,
    host: '127.0.0.1',
    antiEntropyMs: 0,
  })

describe('PeerNode.connect', () => {
  let ana: PeerNode
  let ben: PeerNode
  const wanted = (node: PeerNode, port: number): boolean =>
    node.dialer.status().some((t) => t.host === '127.0.0.1' && t.port === port)

  beforeAll(async () => {
    ;[ana, ben] = await Promise.all([start('ana'), start('ben')])
  })

  afterAll(async () => {
    await Promise.all([ana.close(), ben.close()])
  })

  it('resolves with the device once it said hello, and keeps its address', async () => {
    const peer = await ben.connect('127.0.0.1', ana.port)
    expect(peer).toEqual({ device: ana.workspace.self, name: 'ana' })
    expect(ben.workspace.session(ana.workspace.self)?.ready).toBe(true)
    expect(wanted(ben, ana.port)).toBe(true)
    // Connected already: the same answer at once.
    expect(await ben.connect('127.0.0.1', ana.port)).toEqual(peer)
  })

  it('says nothing listens at an address, and does not keep dialing it', async () => {
    const port = await closedPort()
    await expect(ben.connect('127.0.0.1', port)).rejects.toMatchObject({
      code: 'CONNECTION_REFUSED',
      message: expect.stringContaining(`Nothing is listening on 127.0.0.1:${port}`) as unknown,
    })
    expect(wanted(ben, port)).toBe(false)
  })

  it('says when the address is this device, and when it works offline', async () => {
    await expect(ben.connect('127.0.0.1', ben.port)).rejects.toMatchObject({ code: 'SELF_CONNECTION' })
    expect(wanted(ben, ben.port)).toBe(false)
    ben.setOnline(false)
    try {
      await expect(ben.connect('127.0.0.1', ana.port)).rejects.toMatchObject({
        code: 'NO_PEER',
        message: expect.stringMatching(/working offline/) as unknown,
      })
    } finally {
      ben.setOnline(true)
    }
  })
})
