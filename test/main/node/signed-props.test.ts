/**
 * Property writes bound to their author (src/main/node/signed-props.ts): the signature each write
 * carries survives every path a write takes (a batch, a sync reply, save and load), and a peer sorts a
 * batch's writes into those it takes, those whose author it cannot tell yet, and forged ones.
 */
import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/main/net/device-key'
import { memberCrypto, signerFor } from '../../../src/main/node/crypto'
import { checkPropWrites, propSigner, type PropCheckDeps } from '../../../src/main/node/signed-props'
import {
  CrdtDecodeError,
  decodePropWrites,
  encodePropWrites,
  LwwMap,
  type PropWrite,
} from '../../../src/shared/crdt'
import { toHex } from '../../../src/shared/sync/hex'

const DOC = 'd'.repeat(32)

function signedMap(replica: string) {
  const keyPair = generateKeyPair()
  const map = new LwwMap<unknown>(replica)
  map.signWith(propSigner(DOC, signerFor(keyPair)))
  return { map, device: toHex(keyPair.publicKey), sign: signerFor(keyPair) }
}

/** A peer that knows `bound` (replica → device). */
function deps(bound: Record<string, string>, flagged: string[] = []): PropCheckDeps {
  return {
    docId: DOC,
    deviceOf: (replica) => bound[replica],
    isFlagged: (device) => flagged.includes(device),
    takesUnclaimed: () => false,
    verify: memberCrypto.verify,
  }
}

describe('signed property writes', () => {
  it('keep their signature through batches, sync replies, save and load', () => {
    const { map } = signedMap('aaaaaaaaaaaa')
    map.set('title', 'One')
    map.delete('title')
    const [first, second] = decodePropWrites(map.changesSince({}))
    expect(first!.sig).toHaveLength(64)
    expect(second!.sig).toHaveLength(64)
    expect(second!.json).toBeUndefined()
    const loaded = LwwMap.load(map.save(), 'bbbbbbbbbbbb')
    expect(decodePropWrites(loaded.changesSince({}))).toEqual([first, second])
    // A batch re-made from decoded writes (a peer passing on part of one) is the same batch.
    expect(encodePropWrites([first!, second!])).toEqual(map.changesSince({}))
    const relay = new LwwMap('cccccccccccc')
    relay.applyRemote(encodePropWrites([first!]))
    expect(decodePropWrites(relay.changesSince({}))).toEqual([first])
  })

  it('a signature that is not 64 bytes, or reserved flags, do not decode', () => {
    const { map } = signedMap('aaaaaaaaaaaa')
    const batch = map.set('k', 1)
    expect(() => decodePropWrites(batch.subarray(0, batch.length - 1))).toThrow(CrdtDecodeError)
    const w = decodePropWrites(batch)[0]!
    expect(() => encodePropWrites([{ ...w, sig: new Uint8Array(10) }])).toThrow(RangeError)
  })

  it('a peer takes writes its author signed, waits for unknown authors, and finds forgeries', () => {
    const alice = signedMap('aliceReplica')
    const mallory = signedMap('malloryRepli')
    const bound = { aliceReplica: alice.device, malloryRepli: mallory.device }
    const aliceWrites = decodePropWrites(alice.map.set('title', 'Alice’s'))
    expect(checkPropWrites(aliceWrites, deps(bound)).take).toEqual(aliceWrites)
    // Not known yet: waits (anti-entropy brings it again with its claim).
    expect(checkPropWrites(aliceWrites, deps({})).wait).toEqual(aliceWrites)
    // A flagged device's writes are not taken.
    expect(checkPropWrites(aliceWrites, deps(bound, [alice.device])).wait).toEqual(aliceWrites)

    // Mallory signs a write under alice's replica: forged. So is one with no signature.
    const forgedMap = new LwwMap('aliceReplica')
    forgedMap.signWith(propSigner(DOC, mallory.sign))
    const forged = decodePropWrites(forgedMap.set('title', 'FORGED'))
    expect(checkPropWrites(forged, deps(bound)).forged).toEqual(forged)
    const unsigned: PropWrite[] = forged.map(({ sig: _sig, ...w }) => w)
    expect(checkPropWrites(unsigned, deps(bound)).forged).toEqual(unsigned)
    // A signature is bound to every field and to the document.
    const edited = [{ ...aliceWrites[0]!, json: '"changed"' }]
    expect(checkPropWrites(edited, deps(bound)).forged).toEqual(edited)
    expect(checkPropWrites(aliceWrites, { ...deps(bound), docId: 'e'.repeat(32) }).forged).toHaveLength(1)

    // Author records: only for a replica of the writer's own device.
    const own = decodePropWrites(mallory.map.set('author:malloryRepli', { name: 'Mallory' }))
    expect(checkPropWrites(own, deps(bound)).take).toEqual(own)
    const other = decodePropWrites(mallory.map.set('author:aliceReplica', { name: 'Mallory' }))
    expect(checkPropWrites(other, deps(bound)).forged).toEqual(other)
    const unknown = decodePropWrites(mallory.map.set('author:someoneElse', { name: 'x' }))
    expect(checkPropWrites(unknown, deps(bound)).wait).toEqual(unknown)
  })
})
