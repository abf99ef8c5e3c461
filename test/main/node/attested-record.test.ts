/**
 * What a node keeps on disk of an attested version (src/main/node/attested-record.ts): its record
 * round-trips, a damaged one is skipped, and DurableDoc keeps records apart from the seals, across a
 * reopen and a compaction, until forgotten. (That a restarted node shows the range at once, over TCP +
 * Noise: test/integration/edit-provenance.test.ts no. 5.)
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeAttestedRecord, encodeAttestedRecord } from '../../../src/main/node/attested-record'
import { attestPayload, type Version } from '../../../src/main/node/versions'
import { streamDigest } from '../../../src/main/node/provenance'
import { EMPTY_DIGEST, encodeSeals, makeSeal } from '../../../src/main/node/replica-seal'
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { MemoryStore, type MemoryBacking } from '../../../src/main/storage/memory-store'
import { TextDoc } from '../../../src/shared/crdt'
import { testDevice } from '../../support/devices'

const DOC = 'a'.repeat(32)

/** An attested version of a fresh replica of `device`'s: `text` typed, attested by `attester`. */
function attested(text: string): { version: Version; replica: string; by: string } {
  const [device, attester] = [testDevice(), testDevice()]
  const claim = makeSeal(DOC, device.publicKey, new Uint8Array(randomBytes(8)), 0, EMPTY_DIGEST, device.sign)
  const doc = new TextDoc(claim.replica)
  const ops = doc.localInsert(0, text)
  const digest = streamDigest(doc, claim.replica, text.length)!
  const signature = attester.sign(attestPayload(DOC, claim.replica, text.length, digest, attester.publicKey))
  return {
    version: {
      seal: { ...claim, counter: text.length, digest, signature },
      ops,
      held: true,
      attester: attester.publicKey,
    },
    replica: claim.replica,
    by: attester.key,
  }
}

describe('attested-version records', () => {
  it('round-trip with their seal, or with none; a damaged or mismatched one is skipped', () => {
    const { version, replica, by } = attested('withheld')
    const range = { from: 1, to: 8, by }
    const record = encodeAttestedRecord({ replica, range, seal: version.seal })
    const back = decodeAttestedRecord(record)!
    expect(back.replica).toBe(replica)
    expect(back.range).toEqual(range)
    expect(encodeSeals([back.seal!])).toEqual(encodeSeals([version.seal]))
    // A few hundred bytes whatever the stream's length: the ops stay in the text.
    expect(record.length).toBeLessThan(300)
    expect(decodeAttestedRecord(encodeAttestedRecord({ replica, range, seal: null }))).toEqual({
      replica,
      range,
      seal: null,
    })
    expect(decodeAttestedRecord(record.subarray(0, record.length - 3))).toBeNull()
    expect(decodeAttestedRecord(new Uint8Array([9, 1, 2]))).toBeNull()
    // The seal of another replica than the record names.
    expect(
      decodeAttestedRecord(encodeAttestedRecord({ replica: 'other', range, seal: version.seal })),
    ).toBeNull()
  })

  it('are kept apart from the seals, across a reopen and a compaction, until forgotten', async () => {
    const backing: MemoryBacking = new Map()
    const doc = await DurableDoc.open(new MemoryStore(backing), DOC)
    const { version, replica, by } = attested('withheld')
    const record = encodeAttestedRecord({ replica, range: { from: 1, to: 8, by }, seal: version.seal })
    await doc.storeSeal(replica, encodeSeals([version.seal]))
    await doc.storeAttested(replica, record)
    await doc.close()
    let again = await DurableDoc.open(new MemoryStore(backing), DOC)
    expect(again.seals()).toEqual([encodeSeals([version.seal])])
    expect(again.attestedRecords()).toEqual([record])
    await again.compact()
    await again.close()
    again = await DurableDoc.open(new MemoryStore(backing), DOC)
    expect(again.attestedRecords()).toEqual([record])
    expect(again.seals()).toHaveLength(1)
    await again.storeAttested(replica, new Uint8Array(0))
    expect(again.attestedRecords()).toEqual([])
    await again.close()
    again = await DurableDoc.open(new MemoryStore(backing), DOC)
    expect(again.attestedRecords()).toEqual([])
    expect(again.seals()).toHaveLength(1)
    await again.close()
  })
})
