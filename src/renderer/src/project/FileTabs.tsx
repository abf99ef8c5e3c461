import { FileText, X } from 'lucide-react'
import type { ProjectEntry } from '../../../shared/api'
import { nameOf } from './tree-rows'

/**
 * The project's open files as tabs above the editor, named by the tree as it is now (a file renamed
 * by anyone is renamed here). Each tab keeps its file's editor once opened (its undo history with
 * it); switching shows that editor. Left/Right move between tabs (ARIA tabs, automatic activation), Delete closes one; the close
 * cross is for the mouse only, since a tab must not hold a control.
 */
export function FileTabs({
  tabs,
  entries,
  active,
  onSelect,
  onClose,
}: {
  tabs: readonly string[]
  entries: readonly ProjectEntry[]
  active: string | null
  onSelect: (node: string) => void
  onClose: (node: string) => void
}): React.JSX.Element | null {
  if (tabs.length === 0) return null
  const pathOf = new Map(entries.map((e) => [e.node, e.path]))
  const keyDown = (e: React.KeyboardEvent, node: string): void => {
    const i = tabs.indexOf(node)
    if (e.key === 'Delete') {
      e.preventDefault()
      const next = tabs[i + 1] ?? tabs[i - 1]
      onClose(node)
      if (next) requestAnimationFrame(() => document.getElementById(tabId(next))?.focus())
      return
    }
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      return onSelect(node)
    }
    const to = e.key === 'ArrowRight' ? tabs[i + 1] : e.key === 'ArrowLeft' ? tabs[i - 1] : undefined
    if (!to) return
    e.preventDefault()
    onSelect(to)
    requestAnimationFrame(() => document.getElementById(tabId(to))?.focus())
  }
  return (
    <div className="file-tabs" role="tablist" aria-label="Open files" data-testid="file-tabs">
      {tabs.map((node) => {
        const path = pathOf.get(node) ?? ''
        const name = nameOf(path)
        const selected = node === active
        return (
          <div
            key={node}
            id={tabId(node)}
            role="tab"
            aria-selected={selected}
            aria-controls={panelId(node)}
            aria-keyshortcuts="Delete"
            tabIndex={selected ? 0 : -1}
            className={selected ? 'file-tab active' : 'file-tab'}
            title={path}
            data-testid="file-tab"
            data-path={path}
            onClick={() => onSelect(node)}
            onKeyDown={(e) => keyDown(e, node)}
          >
            <FileText size={14} aria-hidden />
            <span className="file-tab-name">{name}</span>
            {/* For the mouse; the keyboard closes a tab with Delete (aria-keyshortcuts). */}
            <span
              className="file-tab-close"
              aria-hidden
              title={`Close ${name}`}
              data-testid="file-tab-close"
              onClick={(e) => {
                e.stopPropagation()
                onClose(node)
              }}
            >
              <X size={14} />
            </span>
          </div>
        )
      })}
    </div>
  )
}

const idPart = (node: string): string => node.replace(/[^A-Za-z0-9_-]/g, '_')
export const tabId = (node: string): string => `file-tab-${idPart(node)}`
/** The panel of a tab's editor (each open tab keeps its own, hidden but the shown one). */
export const panelId = (node: string): string => `file-panel-${idPart(node)}`
