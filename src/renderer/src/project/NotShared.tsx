import type { NotSharedFile } from '../../../shared/api'

/** Why a file is left out, in words (scan-folder.ts decides). */
const WHY: Readonly<Record<NotSharedFile['why'], string>> = {
  binary: 'not text',
  'too-large': 'over 4 MiB',
  symlink: 'a link',
  special: 'not a regular file',
  'bad-name': 'its name cannot be shared',
  unreadable: 'could not be read',
}

/**
 * The files in this device's folder that the project leaves out, below the tree, folded: what the
 * share dialog promised ("listed … and left out"), so nobody takes them for shared.
 */
export function NotShared({ files }: { files: readonly NotSharedFile[] }): React.JSX.Element | null {
  if (files.length === 0) return null
  return (
    <details className="tree-aside not-shared" data-testid="not-shared">
      <summary>
        {files.length} {files.length === 1 ? 'file' : 'files'} here not shared
      </summary>
      <ul>
        {files.map((f) => (
          <li key={f.path} data-testid="not-shared-file" data-path={f.path} title={f.path}>
            <span className="not-shared-path">{f.path}</span> <span className="hint">{WHY[f.why]}</span>
          </li>
        ))}
      </ul>
    </details>
  )
}
