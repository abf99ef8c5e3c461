import { useLayoutEffect, useRef, useState } from 'react'

/** What the form above the tree does: name a new file or folder, or rename one. */
export type EntryEdit =
  | { readonly mode: 'new'; readonly parent: string | null; readonly kind: 'file' | 'folder' }
  | { readonly mode: 'rename'; readonly node: string; readonly name: string }

/**
 * The name of a new file or folder, or a new name, typed above the tree (not inside a row: a row is a
 * treeitem, which must not hold a control). Enter applies, Escape cancels; a refused name (taken, or
 * not a name) keeps the form open with the reason shown by the window.
 */
export function EntryForm({
  edit,
  where,
  onSubmit,
  onDone,
}: {
  edit: EntryEdit
  /** The folder a new entry goes in (its path), or null for the top. */
  where: string | null
  onSubmit: (name: string) => Promise<boolean>
  onDone: () => void
}): React.JSX.Element {
  const [name, setName] = useState(edit.mode === 'rename' ? edit.name : '')
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  useLayoutEffect(() => {
    const el = input.current
    if (!el) return
    el.focus()
    // A rename selects the name without its extension, as file managers do.
    const dot = el.value.lastIndexOf('.')
    el.setSelectionRange(0, dot > 0 ? dot : el.value.length)
  }, [])
  const label =
    edit.mode === 'rename'
      ? `Rename ${edit.name} to`
      : `New ${edit.kind} in ${where === null ? 'the top folder' : where}`
  const n = name.trim()
  return (
    <form
      className="entry-form"
      data-testid="entry-form"
      onSubmit={(e) => {
        e.preventDefault()
        if (!n || busy) return
        setBusy(true)
        void onSubmit(n).then((ok) => {
          setBusy(false)
          if (ok) onDone()
        })
      }}
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return
        e.preventDefault()
        onDone()
      }}
    >
      <label>
        <span>{label}</span>
        <input
          ref={input}
          data-testid="entry-name"
          value={name}
          spellCheck={false}
          placeholder={edit.mode === 'new' && edit.kind === 'folder' ? 'folder name' : 'name.md'}
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <div className="entry-buttons">
        <button type="button" data-testid="entry-cancel" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="entry-confirm" disabled={!n || busy}>
          {edit.mode === 'rename' ? 'Rename' : 'Create'}
        </button>
      </div>
    </form>
  )
}
