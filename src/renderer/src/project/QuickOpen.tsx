import { useLayoutEffect, useMemo, useRef, useState } from 'react'
import { FileText, Search } from 'lucide-react'
import type { ProjectEntry } from '../../../shared/api'
import { rankPaths } from './fuzzy'

/** Rows shown at most: a person types more rather than scrolls through thousands. */
const LIMIT = 50

/**
 * Quick open (Ctrl+P / Cmd+P): type part of a file's path, its letters in order, and Enter opens the
 * best match (arrows pick another). An ARIA combobox over a listbox: the input keeps the focus, the
 * list's active option is announced.
 */
export function QuickOpen({
  entries,
  onOpen,
  onClose,
}: {
  entries: readonly ProjectEntry[]
  onOpen: (node: string) => void
  onClose: () => void
}): React.JSX.Element {
  const [query, setQuery] = useState('')
  const [active, setActive] = useState(0)
  const input = useRef<HTMLInputElement>(null)
  const files = useMemo(() => entries.filter((e) => e.kind === 'file'), [entries])
  const results = useMemo(() => {
    const nodeOf = new Map(files.map((f) => [f.path, f.node]))
    return rankPaths(
      query,
      files.map((f) => f.path),
      LIMIT,
    ).map((r) => ({ ...r, node: nodeOf.get(r.path)! }))
  }, [files, query])
  const at = Math.min(active, results.length - 1)
  useLayoutEffect(() => input.current?.focus(), [])
  useLayoutEffect(() => {
    document.getElementById(`quick-open-${at}`)?.scrollIntoView({ block: 'nearest' })
  }, [at])

  const choose = (i: number): void => {
    const r = results[i]
    if (!r) return
    onClose()
    onOpen(r.node)
  }
  const onKeyDown = (e: React.KeyboardEvent): void => {
    switch (e.key) {
      case 'ArrowDown':
        setActive(Math.min(at + 1, results.length - 1))
        break
      case 'ArrowUp':
        setActive(Math.max(at - 1, 0))
        break
      case 'Enter':
        choose(at)
        break
      case 'Escape':
        onClose()
        break
      default:
        return
    }
    e.preventDefault()
  }

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="modal quick-open"
        role="dialog"
        aria-modal="true"
        aria-label="Open a file"
        data-testid="quick-open"
      >
        <div className="quick-open-input">
          <Search size={16} aria-hidden />
          <input
            ref={input}
            role="combobox"
            aria-label="File to open"
            aria-expanded="true"
            aria-controls="quick-open-list"
            aria-autocomplete="list"
            aria-activedescendant={at >= 0 ? `quick-open-${at}` : undefined}
            data-testid="quick-open-input"
            placeholder="Type part of a file name"
            spellCheck={false}
            value={query}
            onChange={(e) => {
              setQuery(e.target.value)
              setActive(0)
            }}
            onKeyDown={onKeyDown}
          />
        </div>
        <ul id="quick-open-list" role="listbox" aria-label="Matching files" className="quick-open-list">
          {results.map((r, i) => {
            const slash = r.path.lastIndexOf('/')
            return (
              <li
                key={r.node}
                id={`quick-open-${i}`}
                role="option"
                aria-selected={i === at}
                data-testid="quick-open-option"
                data-path={r.path}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => choose(i)}
              >
                <FileText size={15} aria-hidden />
                <span className="quick-open-name">
                  {highlight(r.path, r.match.positions, slash + 1, r.path.length)}
                </span>
                {slash > 0 && (
                  <span className="quick-open-dir">{highlight(r.path, r.match.positions, 0, slash)}</span>
                )}
              </li>
            )
          })}
        </ul>
        {results.length === 0 && (
          <p className="hint" role="status">
            No file matches “{query}”.
          </p>
        )}
      </div>
    </div>
  )
}

/** path[from, to) with the matched characters marked. */
function highlight(path: string, positions: readonly number[], from: number, to: number): React.ReactNode[] {
  const marked = new Set(positions)
  const out: React.ReactNode[] = []
  let run = ''
  let runMarked = false
  const flush = (i: number): void => {
    if (run) out.push(runMarked ? <mark key={i}>{run}</mark> : run)
    run = ''
  }
  for (let i = from; i < to; i++) {
    const m = marked.has(i)
    if (m !== runMarked) {
      flush(i)
      runMarked = m
    }
    run += path[i]
  }
  flush(to)
  return out
}
