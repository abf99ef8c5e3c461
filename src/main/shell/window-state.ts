/**
 * Where the editor window was and how big: remembered across launches in `window-state.json` in the
 * app's data folder. Plain Node, so tests run it on real files; the Electron shell supplies the
 * displays' work areas, because a window remembered on a monitor that is gone must not open off-screen.
 */
import { JsonFile } from './json-file'

export interface Rect {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface WindowState {
  /** Absent when the OS should place the window (first launch, or the old spot is off every display). */
  readonly x?: number
  readonly y?: number
  readonly width: number
  readonly height: number
  readonly maximized: boolean
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1100, height: 760, maximized: false }
export const MIN_WINDOW_SIZE = { width: 480, height: 320 } as const
/** A remembered window counts as visible if this much of its title bar area is on some display. */
const VISIBLE_MARGIN = 48

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The state in parsed JSON, or null if it is not one. */
export function validWindowState(raw: unknown): WindowState | null {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  if (!isFiniteNumber(r['width']) || !isFiniteNumber(r['height'])) return null
  const state: WindowState = {
    width: Math.round(r['width']),
    height: Math.round(r['height']),
    maximized: r['maximized'] === true,
  }
  if (isFiniteNumber(r['x']) && isFiniteNumber(r['y'])) {
    return { ...state, x: Math.round(r['x']), y: Math.round(r['y']) }
  }
  return state
}

/**
 * The state adjusted to today's displays: no larger than the largest work area and no smaller than
 * the minimum; the position kept only if the window's top strip overlaps a display, else dropped so
 * the OS centres it.
 */
export function fitToDisplays(state: WindowState, workAreas: readonly Rect[]): WindowState {
  if (workAreas.length === 0) return state
  const maxW = Math.max(...workAreas.map((a) => a.width))
  const maxH = Math.max(...workAreas.map((a) => a.height))
  const width = Math.max(MIN_WINDOW_SIZE.width, Math.min(state.width, maxW))
  const height = Math.max(MIN_WINDOW_SIZE.height, Math.min(state.height, maxH))
  const sized: WindowState = { width, height, maximized: state.maximized }
  if (state.x === undefined || state.y === undefined) return sized
  const { x, y } = state
  const onSomeDisplay = workAreas.some(
    (a) =>
      x + width - VISIBLE_MARGIN >= a.x &&
      x + VISIBLE_MARGIN <= a.x + a.width &&
      y >= a.y - VISIBLE_MARGIN / 2 &&
      y + VISIBLE_MARGIN <= a.y + a.height,
  )
  return onSomeDisplay ? { ...sized, x, y } : sized
}

/** A new window's spot: the last one's, moved down and right so that it does not hide it exactly. */
export function cascade(state: WindowState, step = 28): WindowState {
  if (state.x === undefined || state.y === undefined) return state
  return { ...state, x: state.x + step, y: state.y + step }
}

/** `window-state.json`: the last window's state, saved as windows move, resize and close. */
export const windowStateFile = (dataDir: string): JsonFile<WindowState> =>
  new JsonFile(dataDir, 'window-state.json', validWindowState, DEFAULT_WINDOW_STATE)
