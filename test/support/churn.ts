/** Edits to make a document's history long against its text, through its DocSession as a person's would go. */
import type { DocSession } from '../../src/main/node/doc-session'
import { seededRandom } from '../../src/shared/random'

/**
 * `n` edits at random places, each an op of its own (typing in one place would merge), half of them
 * deletes of a few characters: most of what is typed goes, as in a long-edited document.
 */
export async function churn(doc: DocSession, n: number, seed: number): Promise<void> {
  const random = seededRandom(seed)
  const edits: Promise<void>[] = []
  for (let i = 0; i < n; i++) {
    const len = doc.text.length
    if (i % 2 === 1 && len > 10)
      edits.push(doc.delete(Math.floor(random() * (len - 6)), 1 + Math.floor(random() * 6)))
    else edits.push(doc.insert(Math.floor(random() * (len + 1)), 'xyz'.slice(0, 1 + (i % 3))))
  }
  await Promise.all(edits)
}
