/**
 * A headless Chromium driven over the bare DevTools protocol, for timings that Playwright would
 * distort: Playwright enables the Network domain on every page, and Chromium then copies each
 * WebSocket frame's whole payload into a `Network.webSocketFrameReceived` event (base64, in the page's
 * renderer) and flushes it to the client. For a 10 MB document that arrives in one frame this costs the
 * page several hundred milliseconds that no user's browser spends. Here only Page, Runtime and
 * Performance are used: what the page does is what is timed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { CHROMIUM_ARGS, findChromium, WINDOW } from '../test/support/chromium'

const KEY_CODES: Record<string, number> = { End: 35 }

interface Reply {
  readonly id?: number
  readonly method?: string
  readonly result?: unknown
  readonly error?: { message: string }
}

/** One page target and its protocol connection. */
export class CdpPage {
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly events: { method: string; resolve: () => void }[] = []

  constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Reply
      if (message.id !== undefined) {
        const w = this.waiting.get(message.id)
        this.waiting.delete(message.id)
        if (message.error) w?.reject(new Error(message.error.message))
        else w?.resolve(message.result)
        return
      }
      for (let i = this.events.length - 1; i >= 0; i--) {
        if (this.events[i]!.method !== message.method) continue
        this.events[i]!.resolve()
        this.events.splice(i, 1)
      }
    })
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.socket.send(JSON.stringify({ id, method, params }))
    })
  }

  /** The value of `expression` in the page (awaited if it is a promise); throws what the page threw. */
  async evaluate(expression: string): Promise<unknown> {
    const { result, exceptionDetails } = (await this.send('Runtime.evaluate', {
      expression,
      awaitPromise: true,
      returnByValue: true,
    })) as {
      result: { value?: unknown }
      exceptionDetails?: { text: string; exception?: { description?: string } }
    }
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text)
    return result.value
  }

  /** Loads `url` in front (a page behind another gets no animation frames) and waits for its load event. */
  async goto(url: string): Promise<void> {
    await this.send('Page.bringToFront')
    const loaded = new Promise<void>((resolve) =>
      this.events.push({ method: 'Page.loadEventFired', resolve }),
    )
    await this.send('Page.navigate', { url })
    await loaded
  }

  /** Runs `source` in every document this page loads from now on, before the page's own scripts. */
  async addInitScript(source: string): Promise<void> {
    await this.send('Page.addScriptToEvaluateOnNewDocument', { source })
  }

  /** Waits until `selector` matches, then clicks it (a DOM click: React sees it as a user's). */
  async click(selector: string, ms = 20_000): Promise<void> {
    const found = JSON.stringify(selector)
    const end = Date.now() + ms
    while (
      !(await this.evaluate(
        `(() => { const el = document.querySelector(${found}); el?.click(); return !!el })()`,
      ))
    ) {
      if (Date.now() > end) throw new Error(`bench: ${selector} never appeared`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Types `text` where the focus is, as an input method would (one input event). */
  async insertText(text: string): Promise<void> {
    await this.send('Input.insertText', { text })
  }

  /**
   * A key pressed and released through the browser's input pipeline, as a person's: `key` is a
   * lowercase letter, or 'End' with `ctrl`.
   */
  async press(key: string, ctrl = false): Promise<void> {
    const letter = /^[a-z]$/.test(key)
    const code = letter ? `Key${key.toUpperCase()}` : key
    const keyCode = letter ? key.toUpperCase().charCodeAt(0) : KEY_CODES[key]
    if (keyCode === undefined) throw new Error(`bench: no key code for ${key}`)
    const common = { key, code, windowsVirtualKeyCode: keyCode, modifiers: ctrl ? 2 : 0 }
    await this.send('Input.dispatchKeyEvent', {
      type: letter && !ctrl ? 'keyDown' : 'rawKeyDown',
      ...common,
      ...(letter && !ctrl ? { text: key, unmodifiedText: key } : {}),
    })
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', ...common })
  }

  /** The page's main-thread busy time so far (ms), from Chromium's own counters. */
  async busyMs(): Promise<number> {
    const { metrics } = (await this.send('Performance.getMetrics')) as {
      metrics: { name: string; value: number }[]
    }
    return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000
  }
}

export interface CdpBrowser {
  newPage(): Promise<CdpPage>
  close(): Promise<void>
}

/** Starts Chromium (the one the browser tests use) with a fresh profile and no background traffic. */
export async function launchCdpBrowser(): Promise<CdpBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'meshpad-cdp-'))
  const child: ChildProcess = spawn(
    findChromium(),
    [
      '--headless',
      ...CHROMIUM_ARGS,
      // Two pages at once, each as a window in front (Playwright passes the same): none throttled.
      '--disable-renderer-backgrounding',
      '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      `--window-size=${WINDOW.width},${WINDOW.height}`,
      'about:blank',
    ],
    { stdio: 'ignore' },
  )
  const portFile = join(profile, 'DevToolsActivePort')
  const end = Date.now() + 30_000
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2) {
    if (Date.now() > end || child.exitCode !== null) throw new Error('Chromium did not start')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const port = Number(readFileSync(portFile, 'utf8').split('\n')[0])
  const pages: WebSocket[] = []
  return {
    async newPage() {
      const res = await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: 'PUT' })
      const { webSocketDebuggerUrl } = (await res.json()) as { webSocketDebuggerUrl: string }
      const socket = new WebSocket(webSocketDebuggerUrl, { maxPayload: 512 * 1024 * 1024 })
      await new Promise((resolve, reject) => {
        socket.once('open', resolve)
        socket.once('error', reject)
      })
      pages.push(socket)
      const page = new CdpPage(socket)
      await page.send('Page.enable')
      await page.send('Performance.enable')
      // As the window in front: a page in a background tab would get its timers throttled.
      await page.send('Emulation.setFocusEmulationEnabled', { enabled: true })
      return page
    },
    async close() {
      for (const socket of pages) socket.close()
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill()
      await exited
      // Its helper processes may still be writing the profile for a moment after it exits.
      for (let attempt = 0; ; attempt++) {
        try {
          rmSync(profile, { recursive: true, force: true })
          break
        } catch (err) {
          if (attempt === 20) throw err
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      }
    },
  }
}
