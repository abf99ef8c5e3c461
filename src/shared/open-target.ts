/**
 * What a window opens, carried in its URL's fragment (`index.html#file=%2Fhome%2Fana%2Fnotes.md`), so a
 * window created by the shell (menu, command line, file association) or a browser-mode tab opened by
 * hand both know what to show from the first paint. The fragment never reaches a server.
 */
export type OpenTarget =
  | { readonly kind: 'new'; readonly title: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'doc'; readonly docId: string }
  /** A `meshpad://` invite link: the window offers to join with it. */
  | { readonly kind: 'invite'; readonly link: string }
  /** A shared folder's project: the window shows its tree, its files as tabs. */
  | { readonly kind: 'project'; readonly projectId: string }

const DOC_ID = /^[0-9a-f]{32}$/

export function openTargetHash(target: OpenTarget): string {
  switch (target.kind) {
    case 'new':
      return `#new=${encodeURIComponent(target.title)}`
    case 'file':
      return `#file=${encodeURIComponent(target.path)}`
    case 'doc':
      return `#doc=${target.docId}`
    case 'invite':
      return `#invite=${encodeURIComponent(target.link)}`
    case 'project':
      return `#project=${target.projectId}`
  }
}

/** The target in a URL fragment, or null for none or one that does not parse (the start screen). */
export function parseOpenTarget(hash: string): OpenTarget | null {
  const m = /^#(new|file|doc|invite|project)=(.*)$/s.exec(hash)
  if (!m) return null
  let value: string
  try {
    value = decodeURIComponent(m[2]!)
  } catch {
    return null
  }
  switch (m[1]) {
    case 'new':
      return { kind: 'new', title: value }
    case 'file':
      return value ? { kind: 'file', path: value } : null
    case 'doc':
      return DOC_ID.test(value) ? { kind: 'doc', docId: value } : null
    case 'project':
      return DOC_ID.test(value) ? { kind: 'project', projectId: value } : null
    default:
      return value ? { kind: 'invite', link: value } : null
  }
}
