import { RotateCcw } from 'lucide-react'
import type { DeletedEntry } from '../../../shared/api'
import { plural, when } from '../panels/common'

/** Where a deleted entry was, in words: "from src, 14:05". */
const whence = (d: DeletedEntry): string =>
  `${d.from === null ? '' : d.from === '' ? 'from the top, ' : `from ${d.from}, `}${when(d.deletedAt)}`

/**
 * What was deleted from the project (the latest first), below the tree, folded: each can be put back
 * where it was, with its text, by an owner or editor. A deleted folder is one entry, with what it held.
 */
export function Deleted({
  entries,
  canRestore,
  onRestore,
}: {
  entries: readonly DeletedEntry[]
  canRestore: boolean
  onRestore: (node: string) => void
}): React.JSX.Element | null {
  if (entries.length === 0) return null
  return (
    <details className="tree-aside deleted" data-testid="deleted">
      <summary>{plural(entries.length, 'deleted item', 'deleted items')}</summary>
      <ul>
        {entries.map((d) => (
          <li key={d.node} data-testid="deleted-entry" data-name={d.name}>
            <span className="deleted-name" title={`${d.name} (${whence(d)})`}>
              {d.kind === 'folder' ? `${d.name}/` : d.name}
            </span>{' '}
            <span className="hint">{whence(d)}</span>
            {canRestore && (
              <button
                className="ghost icon"
                data-testid="restore-entry"
                aria-label={`Restore ${d.name}`}
                title="Put it back where it was"
                onClick={() => onRestore(d.node)}
              >
                <RotateCcw size={14} />
              </button>
            )}
          </li>
        ))}
      </ul>
    </details>
  )
}
