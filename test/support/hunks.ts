import type { Hunk } from '../../src/shared/text-diff'

/** `text` with the hunks of a diff applied (last first, so earlier indices stay right). */
export function applyHunks(text: string, hunks: readonly Hunk[]): string {
  let out = text
  for (let i = hunks.length - 1; i >= 0; i--) {
    const h = hunks[i]!
    out = out.slice(0, h.index) + h.insert + out.slice(h.index + h.deleteCount)
  }
  return out
}
