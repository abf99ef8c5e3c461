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

/** A device's default colour, from its key (hex): stable across runs and the same on every peer. */
export const colorOf = (device: string): string =>
  PALETTE[parseInt(device.slice(0, 2) || '0', 16) % PALETTE.length]!
