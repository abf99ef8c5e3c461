/**
 * The CRDT decoders' inflate (src/shared/crdt `useInflate`) done by Node's zlib instead of fflate: the
 * same bytes out, ~10× sooner in a cold process (a state's ~28 KB of deflated text: ~1 ms, fflate
 * ~7-10 ms), which every document's open waits for. `maxOutputLength` keeps the contract's limit: a
 * stream that inflates to more throws (RangeError), which the decoders refuse as corrupt.
 */
import { inflateRawSync } from 'node:zlib'
import type { Inflate } from '../../shared/crdt'

export const nativeInflate: Inflate = (packed, limit) => inflateRawSync(packed, { maxOutputLength: limit })
