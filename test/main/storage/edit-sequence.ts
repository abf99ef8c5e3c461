/**
 * A deterministic edit sequence for the crash test: edit i depends only on the seed, i and the length of
 * the text it applies to, so a restarted child and the checking parent derive the same edits.
 */
export type Edit =
  | { readonly kind: 'insert'; readonly index: number; readonly text: string }
  | { readonly kind: 'delete'; readonly index: number; readonly length: number }

/** mulberry32: small, fast, and good enough to choose edits. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function editFor(seed: number, i: number, length: number): Edit {
  const rnd = random(Math.imul(seed, 0x9e3779b1) ^ i)
  // Deletes get likelier as the text grows, so it hovers around a couple of thousand characters.
  if (length > 0 && rnd() < Math.min(0.7, length / 3000)) {
    const index = Math.floor(rnd() * length)
    return { kind: 'delete', index, length: 1 + Math.floor(rnd() * Math.min(40, length - index)) }
  }
  const filler = 'lorem ipsum dolor sit amet '.slice(0, Math.floor(rnd() * 27))
  return { kind: 'insert', index: Math.floor(rnd() * (length + 1)), text: `<${i}>${filler}` }
}

export function applyEdit(text: string, edit: Edit): string {
  return edit.kind === 'insert'
    ? text.slice(0, edit.index) + edit.text + text.slice(edit.index)
    : text.slice(0, edit.index) + text.slice(edit.index + edit.length)
}
