/**
 * Text that grows at its end one keystroke at a time: the base of spans and insert ops. Typing appends
 * to a tail array rather than concatenating strings, which would leave a chain of one live cons-string
 * per keystroke for the garbage collector to copy; the tail is joined once, when the text is read.
 */
export class GrowingText {
  /** Number of characters (UTF-16 code units). */
  len: number
  private head: string
  private tail: string[] | null = null

  constructor(text: string) {
    this.head = text
    this.len = text.length
  }

  get text(): string {
    if (this.tail) {
      this.head += this.tail.join('')
      this.tail = null
    }
    return this.head
  }

  set text(text: string) {
    this.head = text
    this.tail = null
    this.len = text.length
  }

  /**
   * Forgets the characters but keeps their count (`len`): a deleted span's text is needed by nothing
   * but the op log, which has its own copy. `text` is then '' until set again.
   */
  dropText(): void {
    this.head = ''
    this.tail = null
  }

  /** Adds characters at the end. */
  append(text: string): void {
    if (this.tail) this.tail.push(text)
    else this.tail = [text]
    this.len += text.length
  }
}
