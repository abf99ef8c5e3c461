/**
 * People's colours: cursors, selections and authorship. Distinct on light and dark backgrounds. Shared
 * so the node (which gives each person of a document their colour) and the Settings swatches use the
 * same set, each with the name that a screen reader announces.
 */
export const PALETTE: readonly { readonly name: string; readonly color: string }[] = [
  { name: 'Red', color: '#e5484d' },
  { name: 'Orange', color: '#f76b15' },
  { name: 'Amber', color: '#ffc53d' },
  { name: 'Green', color: '#30a46c' },
  { name: 'Teal', color: '#12a594' },
  { name: 'Blue', color: '#0090ff' },
  { name: 'Violet', color: '#6e56cf' },
  { name: 'Pink', color: '#d6409f' },
  { name: 'Purple', color: '#ab4aba' },
  { name: 'Brown', color: '#8d7b5a' },
]

/** The name of a colour (#rrggbb): the palette's, or "Custom colour" for one picked elsewhere. */
export const colorName = (color: string): string =>
  PALETTE.find((p) => p.color === color.toLowerCase())?.name ?? 'Custom colour'

/** Where a device's own order through the palette starts: stable, the same on every peer. */
const startOf = (device: string): number => parseInt(device.slice(0, 8) || '0', 16) % PALETTE.length

/** A device's default colour, from its key (hex): what it has when no one else present has it. */
export const colorOf = (device: string): string => PALETTE[startOf(device)]!.color

/** A person of a document, and the colour they chose (null: they did not choose one). */
export interface ColorClaim {
  readonly device: string
  readonly chosen: string | null
}

/**
 * The colours of a document's people, distinct unless two chose the same one on purpose. A chosen
 * colour is always kept. Everyone else, in order of device key, takes the first palette colour from
 * their own starting point on that no chosen colour and no one before them holds; past ten people the
 * palette runs out, and the rest keep their default. Every peer that sees the same people computes the
 * same colours, so a person looks the same in every window.
 */
export function assignColors(people: readonly ColorClaim[]): Map<string, string> {
  const out = new Map<string, string>()
  const taken = new Set<string>()
  for (const p of people) {
    if (p.chosen) {
      out.set(p.device, p.chosen)
      taken.add(p.chosen)
    }
  }
  const rest = people.filter((p) => !p.chosen).sort((a, b) => (a.device < b.device ? -1 : 1))
  for (const p of rest) {
    const start = startOf(p.device)
    let color = PALETTE[start]!.color
    for (let i = 0; i < PALETTE.length; i++) {
      const candidate = PALETTE[(start + i) % PALETTE.length]!.color
      if (!taken.has(candidate)) {
        color = candidate
        break
      }
    }
    out.set(p.device, color)
    taken.add(color)
  }
  return out
}
