/** The node's implementation of the sync protocol's crypto needs, on Node's own crypto. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { SyncCrypto } from '../../shared/sync/session'

export const nodeCrypto: SyncCrypto = {
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  equal: (a, b) => a.length === b.length && timingSafeEqual(a, b),
}

export const randomId = (bytes: number): string => randomBytes(bytes).toString('hex')
export const randomKey = (): Uint8Array => new Uint8Array(randomBytes(32))
