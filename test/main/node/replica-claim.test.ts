/**
 * A replica's claim (replica-seal.ts, `makeClaim`): what a node opens every document with. It is the
 * same claim `makeSeal` makes at counter 0, but signed only when its signature is first read: a
 * shared folder's member opens 2,000 file documents to sync them and edits few of them.
 */
import SecretStream from '@hyperswarm/secret-stream'
import { describe, expect, it } from 'vitest'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import {
  decodeSeals,
  EMPTY_DIGEST,
  encodeSeals,
  makeClaim,
  makeSeal,
  sealPayload,
} from '../../../src/main/node/replica-seal'

describe('makeClaim', () => {
  it('signs only when the signature is read, once, and gives the claim makeSeal gives', () => {
    const device = SecretStream.keyPair()
    const sign = signerFor(device)
    let signed = 0
    const counting = (payload: Uint8Array): Uint8Array => (signed++, sign(payload))
    const docId = 'c'.repeat(32)
    const nonce = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
    const claim = makeClaim(docId, device.publicKey, nonce, counting)
    const eager = makeSeal(docId, device.publicKey, nonce, 0, EMPTY_DIGEST, sign)
    expect(claim.replica).toBe(eager.replica)
    expect(signed).toBe(0)
    const payload = sealPayload(docId, claim.replica, 0, EMPTY_DIGEST)
    expect(memberCrypto.verify(device.publicKey, payload, claim.signature)).toBe(true)
    expect(claim.signature).toBe(claim.signature)
    expect(signed).toBe(1)
    // On the wire it is any claim.
    expect(decodeSeals(encodeSeals([claim]))).toEqual(decodeSeals(encodeSeals([eager])))
  })
})
