import { useCallback, useState } from 'react'
import type { ApiResult } from '../../../shared/api'

/** A failed request's message for people, or nothing. */
export function ErrorText({ message }: { message: string | null }): React.JSX.Element | null {
  if (!message) return null
  return (
    <p role="alert" className="panel-error">
      {message}
    </p>
  )
}

/** A device's fingerprint as people compare it aloud, in small monospace. */
export function DeviceId({ id, testId }: { id: string; testId?: string }): React.JSX.Element {
  return (
    <span className="device-id" data-testid={testId}>
      {id}
    </span>
  )
}

/** A request's result, with a rejected promise (a broken bridge) turned into an error value. */
export async function settle<T>(request: Promise<ApiResult<T>>): Promise<ApiResult<T>> {
  try {
    return await request
  } catch (err) {
    return { ok: false, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
  }
}

/**
 * One error slot for a component's requests: `run` awaits a request, shows its message if it failed
 * (clears the slot if it worked) and hands the result back, so callers never throw on `ok: false`.
 */
export function useRequest(): {
  readonly error: string | null
  readonly setError: (message: string | null) => void
  readonly run: <T>(request: Promise<ApiResult<T>>) => Promise<ApiResult<T>>
} {
  const [error, setError] = useState<string | null>(null)
  const run = useCallback(async <T,>(request: Promise<ApiResult<T>>): Promise<ApiResult<T>> => {
    const result = await settle(request)
    setError(result.ok ? null : result.message)
    return result
  }, [])
  return { error, setError, run }
}

export const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/** "14:05", or with the date when it is not today. */
export const when = (ms: number): string => {
  const d = new Date(ms)
  const sameDay = d.toDateString() === new Date().toDateString()
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
}

/** The role given to someone joining (an invite, or an accepted request): owners are made later. */
export function GuestRoleSelect({
  value,
  onChange,
  testId,
}: {
  value: 'editor' | 'viewer'
  onChange: (role: 'editor' | 'viewer') => void
  testId: string
}): React.JSX.Element {
  return (
    <label>
      As{' '}
      <select
        data-testid={testId}
        value={value}
        onChange={(e) => onChange(e.target.value === 'viewer' ? 'viewer' : 'editor')}
      >
        <option value="editor">editor</option>
        <option value="viewer">viewer</option>
      </select>
    </label>
  )
}
