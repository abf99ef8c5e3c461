/**
 * What a document is called, one value everywhere (the bar above the editor, the window title, the
 * start screen, Nearby, join requests): its "title" property, else its file's name, else "Untitled".
 * The node keeps the property following the file's name until someone sets another (AppService), so
 * joiners, who have no file, see the same name.
 */
import { displayLabel } from './display-text'

/** The last part of a path (either separator). */
export const fileName = (path: string): string => path.split(/[\\/]/).pop() || path

/** The document's name: a title property comes from peers, so it is shown as one safe line. */
export function docTitle(title: string | null | undefined, path: string | null | undefined): string {
  const t = title?.trim()
  if (t) return displayLabel(t)
  return path ? displayLabel(fileName(path)) : 'Untitled'
}
