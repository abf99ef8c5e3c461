import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']

/** The Chromium the browser tests drive: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export function findChromium(): string {
  const fromEnv = process.env['CHROMIUM_PATH']
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist.`)
    return fromEnv
  }
  const found = CANDIDATES.find((p) => existsSync(p))
  if (!found) {
    throw new Error(
      'No Chromium found for the browser tests. Install it (Debian: apt-get install -y chromium) ' +
        'or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    )
  }
  return found
}

/** The window size launchChromium opens, in which screenshots are taken. */
export const WINDOW = { width: 1000, height: 640 }

/** How every test and bench runs Chromium: no sandbox (root in CI), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const
/** The narrow window every state must also fit (issue 13). */
const NARROW = { width: 800, height: 600 }

/** A headless Chromium with a fresh profile and no background traffic (see docs/testing.md). */
export async function launchChromium(
  options: { colorScheme?: 'light' | 'dark' } = {},
): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'meshpad-chromium-'))
  return chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    headless: true,
    colorScheme: options.colorScheme ?? 'light',
    viewport: WINDOW,
    args: [...CHROMIUM_ARGS],
  })
}

/** Where tests leave screenshots for people to look at (git-ignored). */
export function artifactPath(name: string): string {
  return join(process.cwd(), 'artifacts', name)
}

/**
 * Saves what the page shows, as people see it: in light and in dark at the usual window size, and at
 * 800×600, as artifacts/screenshots/<name>-{light,dark,800x600}.png. Puts the page back as it was (size
 * and colour scheme), so a test goes on where it was.
 */
export async function saveScreens(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? WINDOW
  const dark = await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)
  const save = async (suffix: string): Promise<void> => {
    const file = artifactPath(`screenshots/${name}-${suffix}.png`)
    mkdirSync(dirname(file), { recursive: true })
    await page.screenshot({ path: file })
    if (statSync(file).size < 1000) throw new Error(`screenshot ${file} is empty`)
  }
  await page.setViewportSize(WINDOW)
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await save(scheme)
  }
  await page.setViewportSize(NARROW)
  await save('800x600')
  await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' })
  await page.setViewportSize(size)
}
