/** How discovery reports what it does; the node decides where lines go. */
export type DiscoveryLogLevel = 'debug' | 'info' | 'warn'
export type DiscoveryLog = (level: DiscoveryLogLevel, message: string) => void

export const describeError = (error: unknown): string =>
  error instanceof Error
    ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}`
    : String(error)
