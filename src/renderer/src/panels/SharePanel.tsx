import { useEffect, useState } from 'react'
import { Check, Link } from 'lucide-react'
import type {
  ApiResult,
  DocRole,
  InviteInfo,
  MeshpadBridge,
  MemberInfo,
  OpenInvite,
  SharingInfo,
} from '../../../shared/api'
import { useApiEvent } from '../use-api-event'
import { DeviceId, ErrorText, GuestRoleSelect, plural, useRequest, when } from './common'

const ROLES: readonly DocRole[] = ['owner', 'editor', 'viewer']
const toRole = (value: string): DocRole => ROLES.find((r) => r === value) ?? 'viewer'

/** "in 5 minutes", "in 23 hours", "in 3 days": how long until `ms` from `now`. */
const expiresIn = (ms: number, now: number): string => {
  const minutes = Math.max(1, Math.ceil((ms - now) / 60_000))
  if (minutes < 60) return `in ${plural(minutes, 'minute', 'minutes')}`
  const hours = Math.round(minutes / 60)
  return hours < 48
    ? `in ${plural(hours, 'hour', 'hours')}`
    : `in ${plural(Math.round(hours / 24), 'day', 'days')}`
}

/** Writes to the clipboard; false if the page may not (no permission, not focused). */
const copy = async (text: string): Promise<boolean> => {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

/** How a document is shared: on the LAN, by invite, and with whom (owners manage roles and members). */
export function SharePanel({ api, docId }: { api: MeshpadBridge; docId: string }): React.JSX.Element {
  // A new document starts from a clean panel (no invite or confirm step of the previous one).
  return <SharePanelFor key={docId} api={api} docId={docId} />
}

function SharePanelFor({ api, docId }: { api: MeshpadBridge; docId: string }): React.JSX.Element {
  const [sharing, setSharing] = useState<SharingInfo | null>(null)
  const { error, run } = useRequest()

  useEffect(() => {
    let live = true
    void run(api.sharing(docId)).then((result) => {
      if (live && result.ok) setSharing(result.value)
    })
    return () => {
      live = false
    }
  }, [api, docId, run])

  useApiEvent(api, (event) => {
    if (event.type === 'sharing' && event.sharing.docId === docId) setSharing(event.sharing)
  })

  const update = async (request: Promise<ApiResult<SharingInfo>>): Promise<boolean> => {
    const result = await run(request)
    if (result.ok) setSharing(result.value)
    return result.ok
  }

  const isOwner = sharing?.myRole === 'owner'
  return (
    <section className="panel share-panel" data-testid="share-panel" aria-label="Share">
      <h2>Share</h2>
      <ErrorText message={error} />
      {sharing === null && !error && <p className="hint">Loading…</p>}
      {sharing && (
        <>
          <label className="check">
            <input
              type="checkbox"
              data-testid="share-lan"
              checked={sharing.sharedOnLan}
              disabled={!isOwner}
              onChange={(e) => {
                // Shown at once; the node's answer confirms it (or puts it back, with the error).
                const on = e.target.checked
                const before = sharing
                setSharing({ ...sharing, sharedOnLan: on })
                void update(api.setSharedOnLan(docId, on)).then((ok) => ok || setSharing(before))
              }}
            />
            Share on LAN
          </label>
          <p className="hint">
            {isOwner
              ? 'Devices on this network see it in Nearby and can ask to join.'
              : sharing.sharedOnLan
                ? 'Shared on the LAN by its owner.'
                : 'Not shared on the LAN.'}
          </p>
          {isOwner && <InviteSection api={api} docId={docId} />}
          {isOwner && (
            <OpenInvites
              invites={sharing.invites}
              onRevoke={(id) => void update(api.revokeInvite(docId, id))}
            />
          )}
          <h3>Members</h3>
          <ul className="members" data-testid="members">
            {sharing.members.map((m) => (
              <MemberRow
                key={m.device}
                member={m}
                manage={isOwner && !m.me && !m.creator}
                onRole={(role) => void update(api.setRole(docId, m.device, role))}
                onRemove={() => void update(api.removeMember(docId, m.device))}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  )
}

/**
 * One invite, one way to copy it: the button makes a link for one person and copies it; the link shows
 * once, in a read-only field that truncates it (select it to copy by hand if the clipboard refused).
 */
function InviteSection({ api, docId }: { api: MeshpadBridge; docId: string }): React.JSX.Element {
  const [role, setRole] = useState<'editor' | 'viewer'>('editor')
  const [invite, setInvite] = useState<InviteInfo | null>(null)
  const [copied, setCopied] = useState<boolean | null>(null)
  const { error, run } = useRequest()

  const create = async (): Promise<void> => {
    setCopied(null)
    const result = await run(api.createInvite(docId, role))
    if (!result.ok) return
    setInvite(result.value)
    setCopied(await copy(result.value.link))
  }

  return (
    <div className="invite">
      <h3>Invite someone</h3>
      <div className="panel-row">
        <GuestRoleSelect value={role} onChange={setRole} testId="invite-role" />
        <button className="primary" data-testid="create-invite" onClick={() => void create()}>
          <Link size={15} />
          Copy invite link
        </button>
      </div>
      <ErrorText message={error} />
      {invite && (
        <>
          <input
            data-testid="invite-link"
            className="invite-field"
            aria-label="Invite link"
            readOnly
            value={invite.link}
            spellCheck={false}
            onFocus={(e) => e.target.select()}
          />
          <p className="hint" role="status" data-testid="invite-copied">
            {copied === true && (
              <span className="invite-copied">
                <Check size={14} /> Copied
              </span>
            )}
            {copied === false && 'Select the link and copy it (the clipboard was not available).'}
          </p>
          <p className="hint" data-testid="invite-expiry">
            For one {invite.role}: works once, until {when(invite.expires)}. Send it to them; they open it or
            paste it in Nearby.
          </p>
        </>
      )}
    </div>
  )
}

/** The time, updated every minute: "expires in …" counts down, and expired invites leave the list. */
function useMinuteClock(): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60_000)
    return () => clearInterval(timer)
  }, [])
  return now
}

/** The invites this device made that still work, each with a Revoke (an unused code then fails). */
function OpenInvites({
  invites,
  onRevoke,
}: {
  invites: readonly OpenInvite[]
  onRevoke: (id: string) => void
}): React.JSX.Element | null {
  const now = useMinuteClock()
  const open = invites.filter((i) => i.expires > now)
  if (open.length === 0) return null
  return (
    <>
      <h3>Open invites</h3>
      <ul data-testid="open-invites">
        {open.map((i) => (
          <li key={i.id} className="panel-row" data-testid="open-invite" data-invite-id={i.id}>
            <span className="spacer">
              {i.role}, expires {expiresIn(i.expires, now)}
            </span>
            <button
              data-testid="revoke-invite"
              aria-label={`Revoke ${i.role} invite`}
              onClick={() => onRevoke(i.id)}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </>
  )
}

function MemberRow({
  member: m,
  manage,
  onRole,
  onRemove,
}: {
  member: MemberInfo
  /** Whether this device (an owner) may change the member's role or remove it. */
  manage: boolean
  onRole: (role: DocRole) => void
  onRemove: () => void
}): React.JSX.Element {
  const [confirming, setConfirming] = useState(false)
  const name = m.name || 'Unnamed device'
  return (
    <li className="member" data-testid="member" data-device={m.device}>
      <span
        className={m.online ? 'dot online' : 'dot offline'}
        role="img"
        aria-label={m.online ? 'online' : 'offline'}
      />
      <span className="member-who">
        <span className="name">
          {name}
          {m.me && ' (you)'}
          {m.creator && (
            <span className="member-tag" data-testid="member-creator">
              {' · creator'}
            </span>
          )}
        </span>
        <DeviceId id={m.deviceId} />
        {m.flagged && (
          <span className="member-flag" role="note" data-testid="member-flagged">
            ⚠ Signed conflicting changes: its member changes no longer count
          </span>
        )}
        {m.withholding && (
          <span className="member-flag" role="note" data-testid="member-withholding">
            ⚠ Does not vouch for its edits when asked: others get them only from it directly
          </span>
        )}
      </span>
      {manage ? (
        <>
          <select
            data-testid="member-role"
            aria-label={`Role of ${name}`}
            value={m.role}
            onChange={(e) => onRole(toRole(e.target.value))}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button
            data-testid="member-remove"
            className={confirming ? 'danger' : undefined}
            aria-label={confirming ? `Confirm remove ${name}` : `Remove ${name}`}
            onBlur={() => setConfirming(false)}
            onClick={() => {
              if (confirming) {
                setConfirming(false)
                onRemove()
              } else setConfirming(true)
            }}
          >
            {confirming ? 'Confirm remove' : 'Remove'}
          </button>
        </>
      ) : (
        <span className="member-role">{m.role}</span>
      )}
    </li>
  )
}
