/**
 * A project window's state: the project, its tree and who is in which file (live, from the node's
 * `tree` and `project-presence` events), and its open files as tabs (by tree node, so that a rename
 * keeps the tab).
 */
import { useCallback, useMemo, useRef, useState } from 'react'
import type { MeshpadBridge, ProjectEntry, ProjectInfo, ProjectPresence } from '../../../shared/api'
import { useApiEvent } from '../use-api-event'

export interface ProjectWindow {
  readonly info: ProjectInfo | null
  readonly entries: readonly ProjectEntry[]
  readonly presence: ProjectPresence
  readonly tabs: readonly string[]
  /** The tab shown (its file in the editor). */
  readonly active: string | null
  enter(info: ProjectInfo): void
  leave(): void
  /** Adds the file's tab if it has none, and makes it the shown one. */
  showTab(node: string): void
  /**
   * Closes a tab: returns the tab to show instead if it was the shown one (null: none left), or
   * undefined if it was not.
   */
  closeTab(node: string): string | null | undefined
}

export function useProject(api: MeshpadBridge): ProjectWindow {
  const [info, setInfo] = useState<ProjectInfo | null>(null)
  const [entries, setEntries] = useState<readonly ProjectEntry[]>([])
  const [presence, setPresence] = useState<ProjectPresence>({})
  const [tabs, setTabs] = useState<readonly string[]>([])
  const [active, setActive] = useState<string | null>(null)
  // The same, for the callbacks, which must not change with every tab (App's effects depend on
  // them): each change is made here first, then mirrored in the state that renders.
  const state = useRef({
    tabs: [] as readonly string[],
    active: null as string | null,
    projectId: null as string | null,
  })

  useApiEvent(api, (event) => {
    const id = state.current.projectId
    if (event.type === 'tree' && event.projectId === id) setEntries(event.entries)
    else if (event.type === 'project-presence' && event.projectId === id) setPresence(event.files)
    // A role changed (an owner made this device a viewer, or an editor): the tree's controls follow.
    else if (event.type === 'sharing' && event.sharing.docId === id) {
      const role = event.sharing.myRole
      setInfo((i) => (i && i.role !== role ? { ...i, role } : i))
    }
  })

  const enter = useCallback(
    (project: ProjectInfo): void => {
      state.current = { tabs: [], active: null, projectId: project.projectId }
      setInfo(project)
      setEntries(project.entries)
      setPresence({})
      setTabs([])
      setActive(null)
      void api.projectPresence(project.projectId).then((r) => {
        if (r.ok && state.current.projectId === project.projectId) setPresence(r.value)
      })
    },
    [api],
  )

  const leave = useCallback((): void => {
    state.current = { tabs: [], active: null, projectId: null }
    setInfo(null)
    setEntries([])
    setPresence({})
    setTabs([])
    setActive(null)
  }, [])

  const showTab = useCallback((node: string): void => {
    const now = state.current.tabs
    const next = now.includes(node) ? now : [...now, node]
    state.current.tabs = next
    state.current.active = node
    setTabs(next)
    setActive(node)
  }, [])

  const closeTab = useCallback((node: string): string | null | undefined => {
    const { tabs: now, active: shown } = state.current
    const i = now.indexOf(node)
    if (i < 0) return undefined
    const rest = now.filter((n) => n !== node)
    state.current.tabs = rest
    setTabs(rest)
    if (shown !== node) return undefined
    const next = rest[i] ?? rest[i - 1] ?? null
    state.current.active = next
    setActive(next)
    return next
  }, [])

  return useMemo(
    () => ({ info, entries, presence, tabs, active, enter, leave, showTab, closeTab }),
    [info, entries, presence, tabs, active, enter, leave, showTab, closeTab],
  )
}
