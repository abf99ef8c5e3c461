/**
 * The cursor's line and column for the status bar, outside React state: it changes on every keystroke,
 * and only the status bar's cursor field should re-render then, not the whole window.
 */
export interface CursorPos {
  readonly line: number
  readonly column: number
}

export class CursorStore {
  private pos: CursorPos = { line: 1, column: 1 }
  private readonly listeners = new Set<() => void>()

  readonly get = (): CursorPos => this.pos

  readonly set = (pos: CursorPos): void => {
    if (pos.line === this.pos.line && pos.column === this.pos.column) return
    this.pos = pos
    for (const l of this.listeners) l()
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
