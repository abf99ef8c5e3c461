import { useEffect, useState } from 'react'
import { X } from 'lucide-react'
import type { ApiResult, MeshpadBridge, PropEntry } from '../../../shared/api'
import { useApiEvent } from '../use-api-event'
import { ErrorText, useRequest } from './common'

/** The document's properties (title, language, anything people add): synced to every member. */
export function PropertiesPanel({
  api,
  docId,
  readOnly,
}: {
  api: MeshpadBridge
  docId: string
  readOnly: boolean
}): React.JSX.Element {
  // A new document starts from a clean panel (no half-typed values of the previous one).
  return <PropertiesPanelFor key={docId} api={api} docId={docId} readOnly={readOnly} />
}

function PropertiesPanelFor({
  api,
  docId,
  readOnly,
}: {
  api: MeshpadBridge
  docId: string
  readOnly: boolean
}): React.JSX.Element {
  const [props, setProps] = useState<readonly PropEntry[] | null>(null)
  /** Values being edited, by key, until saved. */
  const [drafts, setDrafts] = useState<Readonly<Record<string, string>>>({})
  const [newKey, setNewKey] = useState('')
  const [newValue, setNewValue] = useState('')
  const { error, run } = useRequest()

  useEffect(() => {
    let live = true
    void run(api.props(docId)).then((result) => {
      if (live && result.ok) setProps(result.value)
    })
    return () => {
      live = false
    }
  }, [api, docId, run])

  useApiEvent(api, (event) => {
    if (event.type === 'props' && event.docId === docId) setProps(event.props)
  })

  const apply = async (request: Promise<ApiResult<PropEntry[]>>): Promise<boolean> => {
    const result = await run(request)
    if (result.ok) setProps(result.value)
    return result.ok
  }

  const setDraft = (key: string, value: string | undefined): void =>
    setDrafts(({ [key]: _, ...rest }) => (value === undefined ? rest : { ...rest, [key]: value }))

  const save = async (entry: PropEntry): Promise<void> => {
    const draft = drafts[entry.key]
    setDraft(entry.key, undefined)
    if (draft === undefined || draft === entry.value) return
    // Keep what was typed if it did not save, so it can be fixed.
    if (!(await apply(api.setProp(docId, entry.key, draft)))) setDraft(entry.key, draft)
  }

  const add = async (): Promise<void> => {
    const key = newKey.trim()
    if (!key) return
    if (await apply(api.setProp(docId, key, newValue))) {
      setNewKey('')
      setNewValue('')
    }
  }

  return (
    <section className="panel props-panel" data-testid="props-panel" aria-label="Properties">
      <h2>Properties</h2>
      <ErrorText message={error} />
      {props === null && !error && <p className="hint">Loading…</p>}
      {props?.length === 0 && readOnly && <p className="hint">No properties.</p>}
      {props && (props.length > 0 || !readOnly) && (
        <table className="props-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              {!readOnly && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {props.map((p) => (
              <tr key={p.key} data-testid="prop-row" data-key={p.key}>
                <th scope="row" className="prop-key">
                  {p.key}
                </th>
                <td>
                  {readOnly ? (
                    <span data-testid="prop-value" className="prop-text">
                      {p.value}
                    </span>
                  ) : (
                    <input
                      data-testid="prop-value"
                      aria-label={`Value of ${p.key}`}
                      value={drafts[p.key] ?? p.value}
                      onChange={(e) => setDraft(p.key, e.target.value)}
                      onBlur={() => void save(p)}
                      onKeyDown={(e) => {
                        if (e.key === 'Enter') void save(p)
                        if (e.key === 'Escape') setDraft(p.key, undefined)
                      }}
                    />
                  )}
                </td>
                {!readOnly && (
                  <td>
                    <button
                      className="ghost icon"
                      data-testid="prop-remove"
                      aria-label={`Remove ${p.key}`}
                      title={`Remove ${p.key}`}
                      onClick={() => void apply(api.deleteProp(docId, p.key))}
                    >
                      <X size={15} />
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {!readOnly && (
              <tr className="prop-add">
                <td>
                  <input
                    data-testid="prop-new-key"
                    aria-label="New property name"
                    placeholder="name"
                    value={newKey}
                    onChange={(e) => setNewKey(e.target.value)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter') void add()
                    }}
                  />
                </td>
                <td>
                  <input
                    data-testid="prop-new-value"
                    aria-label="New property value"
                    placeholder="value"
                    value={newValue}
                    onChange={(e) => setNewValue(e.target.value)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter') void add()
                    }}
                  />
                </td>
                <td>
                  <button data-testid="prop-add" disabled={!newKey.trim()} onClick={() => void add()}>
                    Add
                  </button>
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <p className="hint">
        Properties sync to everyone. “title” names the document; “language” sets the syntax mode (e.g.
        markdown, python), as the language picker in the status bar does.
      </p>
    </section>
  )
}
