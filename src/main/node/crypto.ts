/**
 * The node's implementation of the protocol's crypto needs: hashes and MACs on Node's own crypto,
 * Ed25519 on libsodium (sodium-native).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import sodium from 'sodium-native'
import type { MemberCrypto, Sign } from '../../shared/members/member-op'
import type { SyncCrypto } from '../../shared/sync/session'

export const nodeCrypto: SyncCrypto = {
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  equal: (a, b) => a.length === b.length && timingSafeEqual(a, b),
}

export const randomId = (bytes: number): string => randomBytes(bytes).toString('hex')
export const randomKey = (): Uint8Array => new Uint8Array(randomBytes(32))

export const memberCrypto: MemberCrypto = {
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  // libsodium's Ed25519 (the secret-stream's own), not Node's: a join checks a signature or more for
  // each file of a project, and libsodium checks one in ~60% of the time and signs in ~45%, on raw
  // keys with nothing to parse or cache. It refuses keys of small order and non-canonical signatures.
  verify: (publicKey, data, signature) =>
    publicKey.length === 32 &&
    signature.length === sodium.crypto_sign_BYTES &&
    sodium.crypto_sign_verify_detached(signature, data, publicKey),
}

/** Signs with a device key pair as secret-stream keeps it (secret key = 32-byte seed | public key). */
export function signerFor(keyPair: { publicKey: Uint8Array; secretKey: Uint8Array }): Sign {
  if (keyPair.secretKey.length !== 64) throw new RangeError('An Ed25519 secret key is 64 bytes.')
  const secretKey = new Uint8Array(keyPair.secretKey)
  return (data) => {
    const signature = new Uint8Array(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(signature, data, secretKey)
    return signature
  }
}
