/**
 * The CRDT codecs' compression done by Node's zlib, as the main process (which writes and reads every
 * document's state) has it:
 *
 * - `nativeInflate` (src/shared/crdt `useInflate`) instead of fflate's: the same bytes out, ~10× sooner
 *   in a cold process (a state's ~28 KB of deflated text: ~1 ms, fflate ~7-10 ms), which every
 *   document's open waits for. `maxOutputLength` keeps the contract's limit: a stream that inflates to
 *   more throws (RangeError), which the decoders refuse as corrupt.
 * - `nativeBrotli` (`useBrotli`, packing.ts), which fflate lacks: a state's sections keep ~5-15% less
 *   than deflated. Brotli's best qualities cost ~0.4-1 ms per KB, and a state is written on the main
 *   thread, so the quality falls with the size: quality 10 (~10% smaller than deflate) up to 64 KB, at
 *   most ~30 ms a section; 5 (~4% smaller, ~15 ms per MB) up to 4 MB; 1 beyond. On the automerge-paper
 *   trace a compaction then takes ~75-95 ms (spans at 10, text at 5), where 10 throughout took ~155-195.
 */
import { brotliCompressSync, brotliDecompressSync, constants, inflateRawSync } from 'node:zlib'
import type { Brotli, Inflate } from '../../shared/crdt'

export const nativeInflate: Inflate = (packed, limit) => inflateRawSync(packed, { maxOutputLength: limit })

/** Brotli's quality for `size` raw bytes (see the header). */
const qualityFor = (size: number): number => (size <= 64 * 1024 ? 10 : size <= 4 * 1024 * 1024 ? 5 : 1)

export const nativeBrotli: Brotli = {
  compress: (raw) =>
    brotliCompressSync(raw, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: qualityFor(raw.length),
        [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    }),
  decompress: (packed, limit) => brotliDecompressSync(packed, { maxOutputLength: limit }),
}
