import type { PresenceInfo } from '../../shared/api'
import { PeopleBar } from './PeopleBar'

export type PanelName = 'nearby' | 'share' | 'history' | 'props' | 'settings'

const PANELS: { name: PanelName; label: string; needsDoc: boolean }[] = [
  { name: 'share', label: 'Share', needsDoc: true },
  { name: 'history', label: 'History', needsDoc: true },
  { name: 'props', label: 'Properties', needsDoc: true },
  { name: 'nearby', label: 'Nearby', needsDoc: false },
  { name: 'settings', label: 'Settings', needsDoc: false },
]

/** The bar above the editor: the way back to the list, who is here (follow), authorship, and the side panels. */
export function DocBar({
  title,
  hasDoc,
  people,
  following,
  onFollow,
  showAuthors,
  onShowAuthors,
  panel,
  onPanel,
  onBack,
}: {
  title: string | null
  hasDoc: boolean
  people: readonly PresenceInfo[]
  following: string | null
  onFollow: (device: string | null) => void
  showAuthors: boolean
  onShowAuthors: (on: boolean) => void
  panel: PanelName | null
  onPanel: (panel: PanelName | null) => void
  /** Back to the document list (the start screen). */
  onBack: () => void
}): React.JSX.Element {
  return (
    <nav className="doc-bar" data-testid="doc-bar">
      {hasDoc && (
        <button data-testid="back-to-list" onClick={onBack} title="Back to the document list">
          ‹ Documents
        </button>
      )}
      {title !== null && (
        <span className="doc-title" data-testid="doc-title">
          {title}
        </span>
      )}
      {hasDoc && <PeopleBar people={people} following={following} onFollow={onFollow} />}
      <span className="spacer" />
      {hasDoc && (
        <label className="toggle">
          <input
            type="checkbox"
            data-testid="toggle-authors"
            checked={showAuthors}
            onChange={(e) => onShowAuthors(e.target.checked)}
          />
          Authors
        </label>
      )}
      {PANELS.filter((p) => hasDoc || !p.needsDoc).map((p) => (
        <button
          key={p.name}
          data-testid={`tab-${p.name}`}
          aria-pressed={panel === p.name}
          onClick={() => onPanel(panel === p.name ? null : p.name)}
        >
          {p.label}
        </button>
      ))}
    </nav>
  )
}
