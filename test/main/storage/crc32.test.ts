/** The CRC-32 of logs and snapshots: zlib's where Node has it, the JavaScript one otherwise; both agree. */
import { describe, expect, it } from 'vitest'
import { crc32, crc32Slicing } from '../../../src/main/storage/crc32'
import { seededRandom } from '../../../src/shared/random'

describe('crc32', () => {
  it('gives the standard check value, natively and in JavaScript', () => {
    const check = new TextEncoder().encode('123456789')
    expect(crc32(check)).toBe(0xcbf43926)
    expect(crc32Slicing(check)).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
  })

  it('agrees with the JavaScript one on any bytes, continued over any split', () => {
    const random = seededRandom(14)
    for (let round = 0; round < 50; round++) {
      const data = Uint8Array.from({ length: Math.floor(random() * 5000) }, () => Math.floor(random() * 256))
      const cut = Math.floor(random() * (data.length + 1))
      const whole = crc32Slicing(data)
      expect(crc32(data)).toBe(whole)
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(whole)
      expect(crc32Slicing(data.subarray(cut), crc32Slicing(data.subarray(0, cut)))).toBe(whole)
    }
  })
})
