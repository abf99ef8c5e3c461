/**
 * Interop with a real third-party mDNS stack, python3-zeroconf: it resolves Meshpad's service with
 * the right SRV and TXT, Meshpad sees the service it registers, and goodbyes are honoured both ways.
 *
 * zeroconf always uses port 5353, so both run in a private network namespace that holds nothing but
 * loopback (zeroconf with interfaces=['127.0.0.1'], Meshpad pinned to 127.0.0.1): not one packet can
 * reach a real interface. Needs root, iproute2 and python3-zeroconf; skipped with a message otherwise,
 * and failed instead when MESHPAD_REQUIRE_NETNS=1 (CI).
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, Lines, netnsSupport, requireSupport, shouldSkip, zeroconfSupport } from '../../netns/harness'

const FIXTURES = join(__dirname, 'fixtures')
const HINTS = ['0123456789ab', 'abcdefabcdef']

interface Resolved {
  readonly event: 'resolved'
  readonly name: string
  readonly server: string
  readonly port: number
  readonly addresses: string[]
  readonly txt: string[]
}

interface AgentEvent {
  readonly event: string
  readonly instance?: string
  readonly peer?: {
    instance: string
    port: number
    addresses: string[]
    version: string | null
    hints: string[]
  }
}

const json = <T>(line: string): T | null => {
  try {
    return JSON.parse(line) as T
  } catch {
    return null
  }
}

const checks = [netnsSupport(), zeroconfSupport()]

describe.skipIf(shouldSkip('zeroconf interop', ...checks))('Discovery and python3-zeroconf', () => {
  let lab: Lab
  let zeroconf: Lines
  let meshpad: Lines
  let instance: string

  beforeAll(async () => {
    requireSupport(...checks)
    const made = await Lab.loopbackOnly()
    lab = made.lab
    zeroconf = new Lines(lab.spawn(made.ns, '/usr/bin/python3', ['-u', join(FIXTURES, 'zeroconf_peer.py')]))
    await zeroconf.waitFor('zeroconf ready', (l) => json<{ event: string }>(l)?.event === 'ready')
    const config = { interface: '127.0.0.1', service: { port: 4100, hints: HINTS } }
    meshpad = new Lines(
      lab.spawn(made.ns, process.execPath, [
        '--import',
        'tsx',
        join(FIXTURES, 'discovery-agent.ts'),
        JSON.stringify(config),
      ]),
    )
    const ready = await meshpad.waitFor(
      'meshpad ready',
      (l) => json<AgentEvent>(l)?.event === 'ready',
      15_000,
    )
    instance = json<AgentEvent>(ready)!.instance!
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  it("zeroconf's ServiceBrowser resolves Meshpad's service: SRV port and target, A, TXT v=1 and hints", async () => {
    const line = await zeroconf.waitFor(
      'resolved',
      (l) => json<Resolved>(l)?.name === `${instance}._meshpad._tcp.local.`,
    )
    const resolved = json<Resolved>(line)!
    expect(resolved.port).toBe(4100)
    expect(resolved.server).toBe(`${instance}.local.`)
    expect(resolved.addresses).toEqual(['127.0.0.1'])
    expect(resolved.txt).toEqual(['v=1', ...HINTS.map((h) => `h=${h}`)])
  })

  it('Meshpad finds a service that zeroconf registers, and loses it on its goodbye', async () => {
    zeroconf.send(
      JSON.stringify({ cmd: 'register', name: 'zc-peer', port: 4321, txt: { v: '1', h: 'fedcba987654' } }),
    )
    const found = await meshpad.waitFor('found zc-peer', (l) => {
      const e = json<AgentEvent>(l)
      return e?.event === 'found' && e.peer?.instance === 'zc-peer'
    })
    expect(json<AgentEvent>(found)!.peer).toMatchObject({
      port: 4321,
      addresses: ['127.0.0.1'],
      version: '1',
      hints: ['fedcba987654'],
    })
    const mark = meshpad.all.length
    zeroconf.send(JSON.stringify({ cmd: 'unregister' }))
    const started = Date.now()
    await meshpad.waitFor(
      'lost zc-peer',
      (l) => {
        const e = json<AgentEvent>(l)
        return e?.event === 'lost' && e.peer?.instance === 'zc-peer'
      },
      5000,
      mark,
    )
    // zeroconf repeats its goodbye for a while; the first one must be enough (no TTL wait: that is 120 s).
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it("zeroconf honours Meshpad's goodbye", async () => {
    const mark = zeroconf.all.length
    meshpad.send(JSON.stringify({ cmd: 'stop' }))
    const started = Date.now()
    await meshpad.waitFor('stopped', (l) => json<AgentEvent>(l)?.event === 'stopped')
    await zeroconf.waitFor(
      'removed',
      (l) => {
        const e = json<{ event: string; name: string }>(l)
        return e?.event === 'removed' && e.name === `${instance}._meshpad._tcp.local.`
      },
      5000,
      mark,
    )
    expect(Date.now() - started).toBeLessThan(3000)
  })
})
