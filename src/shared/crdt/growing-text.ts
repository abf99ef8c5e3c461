/**
 * Text that grows at its end one keystroke at a time: the base of spans and insert ops. Typing appends
 * to an array of pieces rather than concatenating strings, which would leave a chain of one live
 * cons-string per keystroke for the garbage collector to copy; the pieces are joined once, when the
 * text is read.
 *
 * Only one span and one insert op grow at a time (where someone types), so the pieces are kept once
 * per kind (`Grower`), not in a field of every instance: a document holds tens of thousands of spans,
 * and a field costs each of them 8 bytes. An instance that starts growing joins the previous one's
 * pieces first.
 */

/** The one instance of a kind whose last characters are still in pieces, and those pieces. */
export class Grower {
  owner: GrowingText | null = null
  pieces: string[] = []

  /** Joins the owner's pieces into its text; it stops growing. */
  settle(): void {
    const owner = this.owner
    if (owner === null) return
    this.owner = null
    owner.head = this.pieces.join('')
    this.pieces = []
  }
}

export abstract class GrowingText {
  /** Number of characters (UTF-16 code units). */
  len: number
  /** The text, but for the pieces `grower` holds while this instance is its owner. */
  head: string
  /** The pieces of this kind (one per subclass, on its prototype). */
  declare protected readonly grower: Grower

  constructor(text: string) {
    this.head = text
    this.len = text.length
  }

  get text(): string {
    if (this.grower.owner === this) this.grower.settle()
    return this.head
  }

  set text(text: string) {
    if (this.grower.owner === this) this.grower.settle()
    this.head = text
    this.len = text.length
  }

  /**
   * Forgets the characters but keeps their count (`len`): a deleted span's text is needed by nothing
   * but the op log, which has its own copy. `text` is then '' until set again.
   */
  dropText(): void {
    if (this.grower.owner === this) this.grower.settle()
    this.head = ''
  }

  /** Adds characters at the end. */
  append(text: string): void {
    const grower = this.grower
    if (grower.owner !== this) {
      grower.settle()
      grower.owner = this
      grower.pieces.push(this.head)
    }
    grower.pieces.push(text)
    this.len += text.length
  }
}

/** Gives `kind` (a subclass of GrowingText) its own pieces. */
export function growsApart(kind: abstract new (...args: never[]) => GrowingText): void {
  Object.defineProperty(kind.prototype, 'grower', { value: new Grower() })
}
