/** The node's implementation of the sync protocol's crypto needs, on Node's own crypto. */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto'
import type { MemberCrypto, Sign } from '../../shared/members/member-op'
import type { SyncCrypto } from '../../shared/sync/session'

export const nodeCrypto: SyncCrypto = {
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  equal: (a, b) => a.length === b.length && timingSafeEqual(a, b),
}

export const randomId = (bytes: number): string => randomBytes(bytes).toString('hex')
export const randomKey = (): Uint8Array => new Uint8Array(randomBytes(32))

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

/** Public keys parsed once each; a document has few members, a flood of keys is bounded here. */
const publicKeys = new Map<string, KeyObject | null>()
const MAX_CACHED_KEYS = 4096

function publicKeyObject(raw: Uint8Array): KeyObject | null {
  const hex = Buffer.from(raw).toString('hex')
  let key = publicKeys.get(hex)
  if (key !== undefined) return key
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' })
  } catch {
    key = null // not a point on the curve: nothing it "signed" verifies
  }
  if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.delete(publicKeys.keys().next().value!)
  publicKeys.set(hex, key)
  return key
}

export const memberCrypto: MemberCrypto = {
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  verify: (publicKey, data, signature) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    const key = publicKeyObject(publicKey)
    try {
      return key !== null && verify(null, data, key, signature)
    } catch {
      return false
    }
  },
}

/** Signs with a device key pair as secret-stream keeps it (secret key = 32-byte seed | public key). */
export function signerFor(keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }): Sign {
  const key = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: b64url(keyPair.secretKey.subarray(0, 32)),
      x: b64url(keyPair.publicKey),
    },
    format: 'jwk',
  })
  return (data) => new Uint8Array(sign(null, data, key))
}
