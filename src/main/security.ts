/**
 * The security settings of every Meshpad window, kept apart from the Electron shell so that plain-Node
 * tests can check exactly what the shell applies.
 */

/**
 * Scripts only from the app itself, no eval, no remote origins, no plugins, no framing.
 * 'unsafe-inline' for styles only: CodeMirror injects its theme as <style> elements at runtime.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ')

/** webPreferences for every BrowserWindow (Electron's names; typed loosely so this file needs no electron). */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: true,
} as const

/**
 * Whether an IPC message or a navigation comes from Meshpad's own renderer: the packaged file, or in
 * development the electron-vite dev server that `rendererDevUrl` names. Everything else is refused.
 */
export function isTrustedRendererUrl(url: string, rendererFileUrl: string, rendererDevUrl?: string): boolean {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  if (parsed.protocol === 'file:') {
    const expected = new URL(rendererFileUrl)
    return parsed.pathname === expected.pathname
  }
  if (rendererDevUrl === undefined) return false
  const dev = new URL(rendererDevUrl)
  return parsed.origin === dev.origin && (parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1')
}
