/**
 * How src/main/net reports what it does. The transport never prints on its own except warnings, so
 * that the CLI and the Electron shell decide where lines go; tests pass a collector.
 */
export type NetLogLevel = 'debug' | 'info' | 'warn'

export type NetLog = (level: NetLogLevel, message: string) => void

/** Warnings to stderr, the rest dropped: a peer that misbehaves is worth a line, routine traffic is not. */
export const defaultNetLog: NetLog = (level, message) => {
  if (level === 'warn') console.warn(`meshpad/net: ${message}`)
}

export const describeError = (error: unknown): string =>
  error instanceof Error ? error.message : String(error)
