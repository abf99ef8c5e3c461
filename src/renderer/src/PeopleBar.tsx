import type { PresenceInfo } from '../../shared/api'
import { colorName } from '../../shared/palette'

/** The people in the document now, each a chip in their colour; clicking one follows their cursor. */
export function PeopleBar({
  people,
  following,
  onFollow,
}: {
  people: readonly PresenceInfo[]
  following: string | null
  onFollow: (device: string | null) => void
}): React.JSX.Element {
  return (
    <div className="people" data-testid="people">
      {people.map((p) => (
        <button
          key={p.device}
          className="person"
          data-testid="person"
          data-device={p.device}
          aria-pressed={following === p.device}
          title={`${following === p.device ? `Stop following ${p.name}` : `Follow ${p.name}'s cursor`} (${colorName(p.color)})`}
          onClick={() => onFollow(following === p.device ? null : p.device)}
        >
          <span className="dot" style={{ backgroundColor: p.color }} aria-hidden="true" />
          {p.name}
          {following === p.device && <span className="following"> · following</span>}
        </button>
      ))}
    </div>
  )
}
