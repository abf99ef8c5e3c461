import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  CONTENT_SECURITY_POLICY,
  SECURE_WEB_PREFERENCES,
  isTrustedRendererUrl,
} from '../../src/main/security'

describe('window security settings', () => {
  it('isolates and sandboxes the renderer', () => {
    expect(SECURE_WEB_PREFERENCES.contextIsolation).toBe(true)
    expect(SECURE_WEB_PREFERENCES.sandbox).toBe(true)
    expect(SECURE_WEB_PREFERENCES.nodeIntegration).toBe(false)
    expect(SECURE_WEB_PREFERENCES.webviewTag).toBe(false)
  })

  it('has a CSP with no eval, no inline scripts and no remote origins', () => {
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|wasm-unsafe-eval/)
    const script = CONTENT_SECURITY_POLICY.split(';').find((d) => d.trim().startsWith('script-src'))
    expect(script?.trim()).toBe("script-src 'self'")
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/https?:|\*/)
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'")
  })

  it('ships the same CSP in the built renderer page', () => {
    const html = readFileSync(join(process.cwd(), 'out/renderer/index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    // The meta tag cannot carry frame-ancestors (browsers ignore it there); the header sets it.
    const withoutFrameAncestors = CONTENT_SECURITY_POLICY.split('; ')
      .filter((d) => !d.startsWith('frame-ancestors'))
      .join('; ')
    expect(meta).toBe(withoutFrameAncestors)
  })

  it('trusts only the app page as IPC sender or navigation target', () => {
    const app = 'file:///opt/Meshpad/resources/app.asar/out/renderer/index.html'
    expect(isTrustedRendererUrl(app, app)).toBe(true)
    expect(isTrustedRendererUrl(app + '#x', app)).toBe(true)
    expect(isTrustedRendererUrl('file:///tmp/evil.html', app)).toBe(false)
    expect(isTrustedRendererUrl('https://example.com/', app)).toBe(false)
    expect(isTrustedRendererUrl('not a url', app)).toBe(false)
    expect(isTrustedRendererUrl('http://localhost:5173/', app)).toBe(false)
    expect(isTrustedRendererUrl('http://localhost:5173/', app, 'http://localhost:5173')).toBe(true)
    expect(isTrustedRendererUrl('http://localhost:5174/', app, 'http://localhost:5173')).toBe(false)
  })
})
