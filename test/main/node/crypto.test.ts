/**
 * The node's Ed25519 (src/main/node/crypto.ts, libsodium): the same signatures as Node's own crypto
 * made (so every signature stored or sent before still checks), and nothing forged or malformed checks.
 */
import { createPrivateKey, sign } from 'node:crypto'
import SecretStream from '@hyperswarm/secret-stream'
import { describe, expect, it } from 'vitest'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

describe('memberCrypto and signerFor', () => {
  const pair = SecretStream.keyPair()
  const publicKey = new Uint8Array(pair.publicKey)
  const data = new TextEncoder().encode('meshpad/seal/1\0 a document, a replica, a counter')
  const signature = signerFor(pair)(data)

  it("signs as Node's crypto did, and checks what it signs", () => {
    const nodeKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: b64url(pair.secretKey.subarray(0, 32)), x: b64url(publicKey) },
      format: 'jwk',
    })
    expect(Buffer.from(signature).equals(sign(null, data, nodeKey))).toBe(true)
    expect(memberCrypto.verify(publicKey, data, signature)).toBe(true)
  })

  it('checks nothing altered, signed by another key, malformed, or made with a key of small order', () => {
    const flipped = (bytes: Uint8Array, i: number): Uint8Array => {
      const copy = new Uint8Array(bytes)
      copy[i]! ^= 1
      return copy
    }
    const other = new Uint8Array(SecretStream.keyPair().publicKey)
    expect(memberCrypto.verify(publicKey, flipped(data, 3), signature)).toBe(false)
    expect(memberCrypto.verify(publicKey, data, flipped(signature, 40))).toBe(false)
    expect(memberCrypto.verify(other, data, signature)).toBe(false)
    expect(memberCrypto.verify(publicKey.subarray(0, 31), data, signature)).toBe(false)
    expect(memberCrypto.verify(publicKey, data, signature.subarray(0, 63))).toBe(false)
    // The identity point (a key of small order): whatever "signature" goes with it, nothing checks.
    const identity = new Uint8Array(32)
    identity[0] = 1
    const trivial = new Uint8Array(64)
    trivial[0] = 1
    expect(memberCrypto.verify(identity, data, trivial)).toBe(false)
    expect(() => signerFor({ publicKey, secretKey: pair.secretKey.subarray(0, 32) })).toThrow(RangeError)
  })
})
