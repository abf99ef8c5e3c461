import { useEffect, useRef, useState } from 'react'
import type { MeshpadBridge, Settings } from '../../../shared/api'
import { PALETTE } from '../../../shared/palette'
import { useApiEvent } from '../use-api-event'
import { ErrorText, useRequest } from './common'

/** The choices of how much deleted text a document keeps (Settings.keepDeleted). */
const KEEP_DELETED: readonly { value: number | 'all'; label: string }[] = [
  { value: 'all', label: 'Keep all of it' },
  { value: 16, label: 'Up to 16× the document' },
  { value: 4, label: 'Up to 4× the document (default)' },
  { value: 1, label: 'Up to 1× the document' },
]

/** How long the colour picker must rest before its colour is saved (it reports every move of a drag). */
const PICKER_SETTLE_MS = 300

/** Your name and colour as others see them, your device ID, and working offline. */
export function SettingsPanel({ api }: { api: MeshpadBridge }): React.JSX.Element {
  const [settings, setSettings] = useState<Settings | null>(null)
  /** The name being typed, until saved (null: show the saved one). */
  const [name, setName] = useState<string | null>(null)
  /** The colour being picked, until saved. */
  const [picked, setPicked] = useState<string | null>(null)
  const pickTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const { error, run } = useRequest()

  useEffect(() => {
    let live = true
    void run(api.settings()).then((result) => {
      if (live && result.ok) setSettings(result.value)
    })
    return () => {
      live = false
      clearTimeout(pickTimer.current)
    }
  }, [api, run])

  useApiEvent(api, (event) => {
    if (event.type === 'settings') setSettings(event.settings)
  })

  const change = async (c: {
    displayName?: string
    color?: string
    online?: boolean
    keepDeleted?: number | 'all'
  }): Promise<boolean> => {
    const result = await run(api.setSettings(c))
    if (result.ok) setSettings(result.value)
    return result.ok
  }

  const saveName = async (): Promise<void> => {
    if (name === null || !settings) return
    const typed = name.trim()
    if (typed === settings.displayName) {
      setName(null)
      return
    }
    if (await change({ displayName: typed })) setName(null)
  }

  const saveColor = (color: string): void => {
    clearTimeout(pickTimer.current)
    setPicked(null)
    void change({ color })
  }

  const pick = (color: string): void => {
    setPicked(color)
    clearTimeout(pickTimer.current)
    pickTimer.current = setTimeout(() => saveColor(color), PICKER_SETTLE_MS)
  }

  const color = (picked ?? settings?.color ?? '').toLowerCase()
  return (
    <section className="panel settings-panel" data-testid="settings-panel" aria-label="Settings">
      <h2>Settings</h2>
      <ErrorText message={error} />
      {settings === null && !error && <p className="hint">Loading…</p>}
      {settings && (
        <>
          <label className="field">
            <span>Display name</span>
            <input
              data-testid="settings-name"
              value={name ?? settings.displayName}
              maxLength={64}
              onChange={(e) => setName(e.target.value)}
              onBlur={() => void saveName()}
              onKeyDown={(e) => {
                if (e.key === 'Enter') void saveName()
                if (e.key === 'Escape') setName(null)
              }}
            />
          </label>

          <fieldset className="field colors">
            <legend>Colour</legend>
            <div className="swatches">
              {PALETTE.map(({ name, color: c }) => (
                <button
                  key={c}
                  className="swatch"
                  data-testid="settings-color"
                  data-color={c}
                  aria-label={name}
                  aria-pressed={color === c}
                  title={name}
                  style={{ background: c }}
                  onClick={() => saveColor(c)}
                />
              ))}
              <input
                type="color"
                data-testid="settings-color-custom"
                aria-label="Another colour"
                value={color || '#000000'}
                onChange={(e) => pick(e.target.value)}
              />
            </div>
            <p className="hint">
              Your cursor and your text, as others see them. Until you choose one, you get a colour that no
              one else in the document has.
            </p>
          </fieldset>

          <div className="field">
            <span>Device ID</span>
            <span className="device-id large" data-testid="settings-device-id">
              {settings.deviceId}
            </span>
            <p className="hint">
              Others see this ID when you ask to join: compare it aloud to be sure it is you.
            </p>
          </div>

          <label className="check">
            <input
              type="checkbox"
              data-testid="settings-offline"
              checked={!settings.online}
              onChange={(e) => {
                // Shown at once; the node's answer confirms it (or puts it back, with the error).
                const online = !e.target.checked
                const before = settings
                setSettings({ ...settings, online })
                void change({ online }).then((ok) => ok || setSettings(before))
              }}
            />
            Work offline
          </label>
          <p className="hint">
            Offline: no connections in or out; your edits are kept and sync when you go back online.
          </p>

          <div className="field">
            <label htmlFor="settings-keep-deleted">Deleted text in history</label>
            <select
              id="settings-keep-deleted"
              data-testid="settings-keep-deleted"
              value={String(settings.keepDeleted)}
              onChange={(e) => {
                const v = e.target.value
                void change({ keepDeleted: v === 'all' ? 'all' : Number(v) })
              }}
            >
              {KEEP_DELETED.map(({ value, label }) => (
                <option key={value} value={String(value)}>
                  {label}
                </option>
              ))}
              {!KEEP_DELETED.some((k) => k.value === settings.keepDeleted) && (
                <option value={String(settings.keepDeleted)}>
                  Up to {settings.keepDeleted}× the document
                </option>
              )}
            </select>
            <p className="hint">
              History keeps what was deleted up to this much (at least 64 K characters); past it, the text
              deleted longest ago is dropped from this device. Everyone still converges: only the letters go,
              and History shows them as gone.
            </p>
          </div>
        </>
      )}
    </section>
  )
}
