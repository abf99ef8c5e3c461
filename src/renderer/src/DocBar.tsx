import { ChevronLeft, History, PenLine, Radar, Settings, Share2, SlidersHorizontal } from 'lucide-react'
import type { PresenceInfo } from '../../shared/api'
import { PeopleBar } from './PeopleBar'

export type PanelName = 'nearby' | 'share' | 'history' | 'props' | 'settings'

const PANELS: { name: PanelName; label: string; icon: typeof Share2; needsDoc: boolean }[] = [
  { name: 'share', label: 'Share', icon: Share2, needsDoc: true },
  { name: 'history', label: 'History', icon: History, needsDoc: true },
  { name: 'props', label: 'Properties', icon: SlidersHorizontal, needsDoc: true },
  { name: 'nearby', label: 'Nearby', icon: Radar, needsDoc: false },
  { name: 'settings', label: 'Settings', icon: Settings, needsDoc: false },
]

/**
 * The bar above the editor: the way back to the list, the document's name (the page's heading), who is
 * here (follow), authorship, and the side panels. In a narrow window the labels hide (styles.css) and
 * each control keeps its name (aria-label) and a tooltip.
 */
export function DocBar({
  title,
  hasDoc,
  inProject = false,
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
  /** A project window (with a file open or not): the way back, and its Share panel, are there. */
  inProject?: boolean
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
    <nav className="doc-bar" data-testid="doc-bar" aria-label="Document">
      {(hasDoc || inProject) && (
        <button
          data-testid="back-to-list"
          onClick={onBack}
          aria-label="Documents"
          title="Back to the document list"
        >
          <ChevronLeft size={16} />
          <span className="label">Documents</span>
        </button>
      )}
      {title !== null && (
        <h1 className="doc-title" data-testid="doc-title" title={title}>
          {title}
        </h1>
      )}
      {hasDoc && <PeopleBar people={people} following={following} onFollow={onFollow} />}
      <span className="spacer" />
      {hasDoc && (
        <label className="toggle" title="Colour the text by who wrote it">
          <input
            type="checkbox"
            data-testid="toggle-authors"
            aria-label="Authors"
            checked={showAuthors}
            onChange={(e) => onShowAuthors(e.target.checked)}
          />
          <PenLine size={15} />
          <span className="label">Authors</span>
        </label>
      )}
      {PANELS.filter((p) => hasDoc || !p.needsDoc || (inProject && p.name === 'share')).map(
        ({ name, label, icon: Icon }) => (
          <button
            key={name}
            data-testid={`tab-${name}`}
            aria-label={label}
            title={label}
            aria-pressed={panel === name}
            onClick={() => onPanel(panel === name ? null : name)}
          >
            <Icon size={16} />
            <span className="label">{label}</span>
          </button>
        ),
      )}
    </nav>
  )
}
