/**
 * Addresses added by hand (`add host:port`, or an invite's addresses), remembered in the data dir so a
 * restarted node dials them again by itself: where multicast is blocked, discovery cannot do it.
 */
import { join } from 'node:path'
import { writeFileAtomic } from '../storage/atomic-write'
import { errnoCode, nodeFs } from '../storage/fs-layer'

const MAX_KNOWN = 64

export class KnownPeers {
  private readonly path: string
  private readonly addresses: string[]
  private writing: Promise<void> = Promise.resolve()

  private constructor(path: string, addresses: string[]) {
    this.path = path
    this.addresses = addresses
  }

  static async open(dataDir: string, log: (message: string) => void): Promise<KnownPeers> {
    const path = join(dataDir, 'known-peers.json')
    let addresses: string[] = []
    try {
      const parsed: unknown = JSON.parse(
        new TextDecoder('utf-8', { ignoreBOM: false }).decode(await nodeFs.readFile(path)),
      )
      if (Array.isArray(parsed))
        addresses = parsed.filter((a): a is string => typeof a === 'string' && parse(a) !== null)
    } catch (err) {
      // Only a convenience: a damaged list is dropped (peers are found again by discovery or add).
      if (errnoCode(err) !== 'ENOENT') log(`ignored an unreadable ${path}: ${(err as Error).message}`)
    }
    return new KnownPeers(path, addresses.slice(-MAX_KNOWN))
  }

  list(): { host: string; port: number }[] {
    return this.addresses.map((a) => parse(a)).filter((a) => a !== null)
  }

  /** Remembers an address (most recent last); resolves once it is on disk. */
  remember(host: string, port: number): Promise<void> {
    const key = `${host}:${port}`
    const at = this.addresses.indexOf(key)
    if (at >= 0) this.addresses.splice(at, 1)
    this.addresses.push(key)
    if (this.addresses.length > MAX_KNOWN) this.addresses.shift()
    const data = new TextEncoder().encode(JSON.stringify(this.addresses))
    this.writing = this.writing
      .catch(() => undefined)
      .then(() => writeFileAtomic(nodeFs, this.path, data, { action: 'remember peers in' }))
    return this.writing
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined)
  }
}

function parse(address: string): { host: string; port: number } | null {
  const m = /^(.+):(\d{1,5})$/.exec(address)
  if (!m) return null
  const port = Number(m[2])
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null
}
