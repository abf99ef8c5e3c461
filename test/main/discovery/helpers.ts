/**
 * Discovery on loopback only: every instance is pinned to 127.0.0.1 and bound to 0.0.0.0 (binding to
 * 127.0.0.1 would not receive multicast) on a port of its own, never 5353 on a real interface.
 */
import { createSocket } from 'node:dgram'
import { Discovery, type DiscoveryOptions } from '../../../src/main/discovery'
import type { DiscoveredPeer } from '../../../src/main/discovery'

export const LOOPBACK = '127.0.0.1'

/** A UDP port nothing on 127.0.0.1 uses right now. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

export interface LogLine {
  readonly level: string
  readonly message: string
}

export interface Probe {
  readonly discovery: Discovery
  readonly logs: LogLine[]
  readonly events: { type: 'found' | 'updated' | 'lost'; peer: DiscoveredPeer; at: number }[]
}

/** Makes discovery instances on one loopback port, and destroys them all afterwards. */
export class Lan {
  private readonly made: Discovery[] = []

  constructor(readonly port: number) {}

  discovery(options: DiscoveryOptions = {}): Probe {
    const logs: LogLine[] = []
    const discovery = new Discovery({
      interface: LOOPBACK,
      bind: '0.0.0.0',
      port: this.port,
      log: (level, message) => logs.push({ level, message }),
      ...options,
    })
    this.made.push(discovery)
    const events: Probe['events'] = []
    for (const type of ['found', 'updated', 'lost'] as const) {
      discovery.on(type, (peer) => events.push({ type, peer, at: Date.now() }))
    }
    return { discovery, logs, events }
  }

  async destroyAll(): Promise<void> {
    await Promise.all(this.made.splice(0).map((d) => d.destroy({ goodbye: false })))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function waitFor<T>(
  what: string,
  get: () => T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const start = Date.now()
  for (;;) {
    const value = get()
    if (value !== undefined && value !== false) return value
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** The first event of `type` about `instance` in a probe's log. */
export const eventOf = (probe: Probe, type: 'found' | 'updated' | 'lost', instance: string) =>
  probe.events.find((e) => e.type === type && e.peer.instance === instance)

/** Handles (sockets, timers) the event loop holds, by kind. */
export function activeHandles(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}
