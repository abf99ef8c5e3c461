/** Test support: real device key pairs (Ed25519, as secret-stream makes them) that sign member changes. */
import SecretStream from '@hyperswarm/secret-stream'
import { signerFor } from '../../src/main/node/crypto'
import type { Sign } from '../../src/shared/members/member-op'
import { toHex } from '../../src/shared/sync/hex'

export interface TestDevice {
  readonly key: string
  readonly publicKey: Uint8Array
  readonly sign: Sign
}

export function testDevice(): TestDevice {
  const pair = SecretStream.keyPair()
  return { key: toHex(pair.publicKey), publicKey: new Uint8Array(pair.publicKey), sign: signerFor(pair) }
}
