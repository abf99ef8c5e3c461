/**
 * People's colours: cursors, selections and authorship. Distinct on light and dark backgrounds. Shared
 * so the node's default (a device without a chosen colour) and the Settings swatches are the same set.
 */
export const PALETTE: readonly string[] = [
  '#e5484d',
  '#f76b15',
  '#ffc53d',
  '#30a46c',
  '#12a594',
  '#0090ff',
  '#6e56cf',
  '#d6409f',
  '#ab4aba',
  '#8d7b5a',
]

/** Each palette colour's name, as a screen reader announces the swatch. */
const NAMES: Readonly<Record<string, string>> = {
  '#e5484d': 'Red',
  '#f76b15': 'Orange',
  '#ffc53d': 'Amber',
  '#30a46c': 'Green',
  '#12a594': 'Teal',
  '#0090ff': 'Blue',
  '#6e56cf': 'Violet',
  '#d6409f': 'Pink',
  '#ab4aba': 'Purple',
  '#8d7b5a': 'Bronze',
}

/** A colour's name for people: the palette's name, else the hex code (a colour picked freely). */
export const colorName = (color: string): string => NAMES[color.toLowerCase()] ?? color

/** A device's default colour, from its key (hex): stable across runs and the same on every peer. */
export const colorOf = (device: string): string =>
  PALETTE[parseInt(device.slice(0, 2) || '0', 16) % PALETTE.length]!
