/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial). Node 20 has no zlib.crc32 and fflate does not export its
 * own. Slicing-by-8 (eight tables, eight bytes per step) because a 10 MB snapshot is checked on every open
 * and the byte-wise loop costs ~30 ms there against ~10 ms.
 */
const TABLES = (() => {
  const t = new Uint32Array(256 * 8)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  // Table k advances a byte that sits k positions before the end of an 8-byte block.
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + n]!
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!
    }
  }
  return t
})()

/** CRC of `data`; pass a previous result as `seed` to continue over several buffers. */
export function crc32(data: Uint8Array, seed = 0): number {
  const t = TABLES
  let c = ~seed >>> 0
  let i = 0
  const n = data.length
  const blocks = n - (n % 8)
  while (i < blocks) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!
    i += 8
  }
  while (i < n) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
