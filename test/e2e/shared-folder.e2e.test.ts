/**
 * Issue 15's UI proof: two `meshpad serve` processes on 127.0.0.1, a Chromium each, driven through the
 * UI only. Alice shares a folder from the start screen; Bob joins it by invite into a folder of his
 * own; Bob opens a file from the tree; Alice sees Bob on that file in her tree; Alice renames the file
 * while Bob has it open, and Bob's tab follows; both folders end byte-identical on disk. Quick open
 * (Ctrl+P) finds a file by a few of its letters. Screenshots in light, dark and 800×600; axe finds no
 * serious or critical violation on the tree or quick open.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scanFolder } from '../../src/main/folder/scan-folder'
import { axe } from '../support/axe'
import { launchChromium, saveScreens } from '../support/chromium'
import { authorOf, editorText, openPanel, typeAtEnd } from '../support/e2e'
import { spawnServe } from '../support/serve'

const shot = (page: Page, name: string): Promise<void> => saveScreens(page, `shared-folder-${name}`)

const PLAN = '# Plan\n\nShip the folder sharing.\n'

/** Every shared path of a folder with its bytes (base64): what "byte-identical" compares. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const scan = await scanFolder(dir)
  const out: Record<string, string> = {}
  for (const f of scan.folders) out[`${f}/`] = ''
  for (const f of scan.files) {
    try {
      out[f.path] = readFileSync(join(dir, f.path)).toString('base64')
    } catch {
      out[f.path] = '(gone while read)' // renamed or deleted between the scan and the read: read again
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)))
}

const row = (page: Page, path: string): ReturnType<Page['locator']> =>
  page.locator(`[data-testid=tree-item][data-path="${path}"]`)

/**
 * Waits until the editor shown is the selected tab's: a tab's editor is made when its file has opened,
 * and until then the one before stays shown (kept, hidden, once another is shown).
 */
async function selectedTabsEditor(page: Page): Promise<void> {
  const panel = await page.locator('[data-testid=file-tab][aria-selected=true]').getAttribute('aria-controls')
  await page.locator(`[id="${panel}"]:not([hidden]) .cm-content`).waitFor()
}

/** Serious or critical axe violations on the page as it is now, in light and in dark, described. */
async function seriousViolations(page: Page): Promise<string[]> {
  const found: string[] = []
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const v of await axe(page)) {
      if (v.impact === 'serious' || v.impact === 'critical')
        found.push(`${scheme} ${v.id} (${v.impact}): ${v.help} — ${v.targets.slice(0, 3).join(', ')}`)
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  return found
}

describe('a shared folder, in two browsers', () => {
  const root = mkdtempSync(join(tmpdir(), 'meshpad-e2e-folder-'))
  const aliceDir = join(root, 'alice-project')
  const bobDir = join(root, 'bob', 'copy') // not there yet: joining makes it
  const procs: ChildProcess[] = []
  let contexts: BrowserContext[] = []
  let alice: Page
  let bob: Page

  const serve = async (name: string): Promise<string> => {
    const dataDir = join(root, `${name}-data`)
    const { proc, url } = await spawnServe([
      '--data-dir',
      dataDir,
      '--name',
      name,
      '--no-discovery',
      '--host',
      '127.0.0.1',
    ])
    procs.push(proc)
    return url
  }

  beforeAll(async () => {
    mkdirSync(join(aliceDir, 'notes'), { recursive: true })
    mkdirSync(join(aliceDir, 'src'), { recursive: true })
    writeFileSync(join(aliceDir, 'README.md'), '# Alice project\n')
    writeFileSync(join(aliceDir, 'notes', 'plan.md'), PLAN)
    writeFileSync(join(aliceDir, 'src', 'main.ts'), 'export const main = 1\n')
    writeFileSync(join(aliceDir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]))
    const [aliceUrl, bobUrl] = await Promise.all([serve('alice'), serve('bob')])
    contexts = await Promise.all([launchChromium(), launchChromium()])
    alice = await contexts[0]!.newPage()
    bob = await contexts[1]!.newPage()
    await alice.goto(aliceUrl)
    await bob.goto(bobUrl)
    await alice.getByTestId('start').waitFor()
    await bob.getByTestId('start').waitFor()
  })

  afterAll(async () => {
    for (const c of contexts) await c.close()
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null) return resolve()
            p.once('exit', () => resolve())
            p.kill('SIGTERM')
          }),
      ),
    )
  })

  it('Alice shares a folder, and Bob joins it into a folder of his own', async () => {
    await alice.getByTestId('start-share-folder').click()
    await alice.getByTestId('share-folder-path').fill(aliceDir)
    await shot(alice, '1-share-dialog')
    await alice.getByTestId('share-folder-confirm').click()
    await row(alice, 'README.md').waitFor()
    expect(
      await alice.getByTestId('tree-item').evaluateAll((els) => els.map((e) => e.dataset['path'])),
    ).toEqual(['notes', 'src', 'README.md'])
    // The binary file is not shared, and the tree says so (folded below it).
    const notShared = alice.getByTestId('not-shared')
    expect(await notShared.locator('summary').textContent()).toBe('1 file here not shared')
    await notShared.locator('summary').click()
    expect(await alice.getByTestId('not-shared-file').textContent()).toBe('logo.png not text')

    await alice.getByTestId('tab-share').click()
    await alice.getByTestId('create-invite').click()
    const invite = await alice.getByTestId('invite-link').inputValue()

    // Bob pastes it where a document's invite goes (Nearby › Join): it is a shared folder's, so the
    // Open a project dialog takes it, with the invite filled in, to ask where its files go.
    await openPanel(bob, 'nearby')
    await bob.getByTestId('invite-input').fill(invite)
    await bob.getByTestId('invite-join').click()
    await bob.getByTestId('join-project-dialog').waitFor()
    expect(await bob.getByTestId('join-project-invite').inputValue()).toBe(invite)
    await bob.getByTestId('join-project-path').fill(bobDir)
    await bob.getByTestId('join-project-confirm').click()
    await row(bob, 'README.md').waitFor({ timeout: 30_000 })
    // Alice's Share panel, open all along, shows Bob as a member of the project once he is in.
    await expect.poll(() => alice.getByTestId('member').count(), { timeout: 10_000 }).toBe(2)
    await expect
      .poll(
        () => {
          try {
            return readFileSync(join(bobDir, 'notes', 'plan.md'), 'utf8')
          } catch {
            return null
          }
        },
        { timeout: 15_000 },
      )
      .toBe(PLAN)
  })

  it('Bob opens a file from the tree, and Alice sees him on it in her tree', async () => {
    await row(bob, 'notes').click() // expands the folder
    await row(bob, 'notes/plan.md').click()
    await expect.poll(() => editorText(bob), { timeout: 10_000 }).toBe(PLAN)
    expect(await bob.getByTestId('file-tab').getAttribute('data-path')).toBe('notes/plan.md')
    expect(await bob.getByTestId('doc-title').textContent()).toBe('plan.md')

    // Her tree is folded: the folder shows who is in a file inside it.
    const inNotes = row(alice, 'notes').getByTestId('tree-badge')
    await expect.poll(() => inNotes.count(), { timeout: 10_000 }).toBe(1)
    expect(await inNotes.getAttribute('title')).toBe('bob is in a file in here')
    // Alice opens the folder by keyboard: the tree is reachable and works with arrows.
    await row(alice, 'notes').focus()
    await alice.keyboard.press('ArrowRight')
    await expect.poll(() => row(alice, 'notes').getAttribute('aria-expanded')).toBe('true')
    const badge = row(alice, 'notes/plan.md').getByTestId('tree-badge')
    await expect.poll(() => badge.count(), { timeout: 10_000 }).toBe(1)
    expect(await badge.getAttribute('title')).toBe('bob is in this file')
    expect(await row(alice, 'README.md').getByTestId('tree-badge').count()).toBe(0)
    expect(await inNotes.count()).toBe(0) // open: the file's row shows him
    await shot(alice, '2-bob-in-plan')
    await shot(bob, '2-plan-open')
    expect(await seriousViolations(alice)).toEqual([])
    expect(await seriousViolations(bob)).toEqual([])
  })

  it("Alice renames the file while Bob has it open: Bob's tab follows, and his edits go on", async () => {
    await row(alice, 'notes/plan.md').click()
    await expect.poll(() => editorText(alice), { timeout: 20_000 }).toBe(PLAN)
    await alice.getByTestId('tree-rename').click()
    await alice.getByTestId('entry-name').fill('roadmap.md')
    await alice.getByTestId('entry-confirm').click()
    await row(alice, 'notes/roadmap.md').waitFor({ timeout: 20_000 })

    const tab = bob.getByTestId('file-tab')
    await expect.poll(() => tab.getAttribute('data-path'), { timeout: 20_000 }).toBe('notes/roadmap.md')
    expect(await tab.textContent()).toBe('roadmap.md')
    expect(await bob.getByTestId('doc-title').textContent()).toBe('roadmap.md')
    await typeAtEnd(bob, 'Bob was here.')
    await expect.poll(() => editorText(alice), { timeout: 20_000 }).toContain('Bob was here.')
    await shot(bob, '3-tab-renamed')
  }, 60_000)

  it('Alice makes a file and a folder, drags the file into the folder, and deletes a file after confirming', async () => {
    await row(alice, 'src').click() // selects (and expands) src: a new file goes in it
    await alice.getByTestId('tree-new-file').click()
    await alice.getByTestId('entry-name').fill('util.ts')
    await alice.getByTestId('entry-confirm').click()
    await expect
      .poll(() => alice.locator('[data-testid=file-tab][aria-selected=true]').getAttribute('data-path'), {
        timeout: 10_000,
      })
      .toBe('src/util.ts')
    await selectedTabsEditor(alice)
    await typeAtEnd(alice, 'export const util = 2')
    await row(alice, 'README.md').click() // a top-level file selected: a new folder goes at the top
    await alice.getByTestId('tree-new-folder').click()
    await alice.getByTestId('entry-name').fill('lib')
    await alice.getByTestId('entry-name').press('Enter')
    await row(alice, 'lib').waitFor()
    await row(alice, 'src/util.ts').dragTo(row(alice, 'lib'))
    await row(alice, 'lib/util.ts').waitFor({ timeout: 10_000 })
    await expect
      .poll(
        () => {
          try {
            return readFileSync(join(bobDir, 'lib', 'util.ts'), 'utf8')
          } catch {
            return null
          }
        },
        { timeout: 15_000 },
      )
      .toBe('export const util = 2')

    // Delete asks first; Cancel keeps the file.
    await row(alice, 'README.md').focus()
    await alice.keyboard.press('Delete')
    await alice.getByTestId('delete-dialog').waitFor()
    expect(await alice.locator('#delete-dialog-title').textContent()).toBe('Delete README.md?')
    await shot(alice, '5-delete-confirm')
    expect(await seriousViolations(alice)).toEqual([])
    await alice.getByTestId('delete-cancel').click()
    expect(await row(alice, 'README.md').count()).toBe(1)
    await alice.getByTestId('tree-delete').click()
    await alice.getByTestId('delete-confirm').click()
    await expect.poll(() => row(bob, 'README.md').count(), { timeout: 10_000 }).toBe(0)
    // Alice had it open: its tab goes with it, once her own tree hears of the delete (Bob's may hear first).
    await expect
      .poll(() => alice.getByTestId('file-tab').evaluateAll((els) => els.map((e) => e.dataset['path'])), {
        timeout: 10_000,
      })
      .not.toContain('README.md')
  }, 60_000)

  it('Bob puts the deleted README.md back from the list of deleted items, with its text', async () => {
    const list = bob.getByTestId('deleted')
    await list.waitFor({ timeout: 10_000 })
    await list.locator('summary').click()
    const entry = list.locator('[data-testid=deleted-entry][data-name="README.md"]')
    expect(await entry.locator('.hint').textContent()).toMatch(/^from the top, /)
    await shot(bob, '5b-deleted-list')
    expect(await seriousViolations(bob)).toEqual([])
    await entry.getByTestId('restore-entry').click()
    await row(bob, 'README.md').waitFor({ timeout: 10_000 })
    await row(alice, 'README.md').waitFor({ timeout: 10_000 })
    expect(await list.count()).toBe(0) // nothing else was deleted: the list goes
    await expect
      .poll(
        () => {
          try {
            return readFileSync(join(aliceDir, 'README.md'), 'utf8')
          } catch {
            return null
          }
        },
        { timeout: 15_000 },
      )
      .toBe('# Alice project\n')
  }, 60_000)

  it("a change another program makes in Alice's folder shows in Bob's open file as Alice's", async () => {
    // lib/util.ts holds what Alice typed in it. The change is merged from disk as her device's edit,
    // by a replica new to the file, with no author record (a project's files have none): Bob's window
    // asks its node to name that replica when its text arrives.
    await row(bob, 'lib').click()
    await row(bob, 'lib/util.ts').click()
    await expect.poll(() => editorText(bob), { timeout: 10_000 }).toBe('export const util = 2')
    const saved = '// Saved by another editor.\n'
    writeFileSync(join(aliceDir, 'lib', 'util.ts'), `${saved}export const util = 2`)
    await expect.poll(() => editorText(bob), { timeout: 20_000 }).toBe(`${saved}export const util = 2`)
    await bob.getByTestId('toggle-authors').check()
    expect(await authorOf(bob, 'Saved by another')).toBe('alice')
    expect(await authorOf(bob, 'export')).toBe('alice')
    await bob.getByTestId('toggle-authors').uncheck()
    await bob.locator('[data-testid=file-tab][data-path="lib/util.ts"] [data-testid=file-tab-close]').click()
    await expect.poll(() => bob.getByTestId('file-tab').count()).toBe(1)
  }, 60_000)

  it('leaves the two folders byte-identical on disk', async () => {
    const expected = ['README.md', 'lib/', 'lib/util.ts', 'notes/', 'notes/roadmap.md', 'src/', 'src/main.ts']
    let last: [Record<string, string>, Record<string, string>] = [{}, {}]
    // Both folders as the project is now: equal alone could be both before the last delete was written.
    await expect
      .poll(
        async () => {
          last = [await snapshot(aliceDir), await snapshot(bobDir)]
          const same = JSON.stringify(last[0]) === JSON.stringify(last[1])
          return same && JSON.stringify(Object.keys(last[0])) === JSON.stringify(expected)
        },
        { timeout: 15_000 },
      )
      .toBe(true)
    expect(Object.keys(last[0])).toEqual(expected)
    expect(readFileSync(join(bobDir, 'notes', 'roadmap.md'), 'utf8')).toBe(`${PLAN}Bob was here.`)
  })

  it('quick open (Ctrl+P) finds a file by a few of its letters', async () => {
    await bob.keyboard.press('Control+P')
    const input = bob.getByTestId('quick-open-input')
    await input.waitFor()
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true)
    await input.fill('mnts')
    const options = bob.getByTestId('quick-open-option')
    expect(await options.evaluateAll((els) => els.map((e) => e.dataset['path']))).toEqual(['src/main.ts'])
    await input.fill('')
    await input.fill('rdmp')
    expect(await options.first().getAttribute('data-path')).toBe('notes/roadmap.md')
    await shot(bob, '4-quick-open')
    expect(await seriousViolations(bob)).toEqual([])
    await input.fill('main')
    await input.press('Enter')
    await expect.poll(() => editorText(bob)).toBe('export const main = 1\n')
    expect(await bob.getByTestId('file-tab').evaluateAll((els) => els.map((e) => e.dataset['path']))).toEqual(
      ['notes/roadmap.md', 'src/main.ts'],
    )
  })

  it("switching tabs keeps each file's editor: its undo history, and what others typed meanwhile", async () => {
    // Bob is in src/main.ts (quick open); roadmap.md's tab kept its editor, hidden.
    expect(await bob.locator('.live').count()).toBe(2)
    await typeAtEnd(bob, '// bob')
    await expect.poll(() => editorText(bob)).toBe('export const main = 1\n// bob')
    await bob.locator('[data-testid=file-tab][data-path="notes/roadmap.md"]').click()
    await expect.poll(() => editorText(bob)).toBe(`${PLAN}Bob was here.`)

    // Alice writes in main.ts while Bob is away from its tab.
    await row(alice, 'src/main.ts').click()
    await expect.poll(() => editorText(alice), { timeout: 10_000 }).toContain('// bob')
    await alice.locator('.live:not([hidden]) .cm-content').click()
    await alice.keyboard.press('Control+Home')
    await alice.keyboard.type('// alice\n')

    await bob.locator('[data-testid=file-tab][data-path="src/main.ts"]').click()
    await expect
      .poll(() => editorText(bob), { timeout: 10_000 })
      .toBe('// alice\nexport const main = 1\n// bob')
    // Undo takes back Bob's own typing from before he switched, and leaves Alice's.
    await bob.locator('.live:not([hidden]) .cm-content').click()
    await bob.keyboard.press('Control+Z')
    await expect.poll(() => editorText(bob)).toBe('// alice\nexport const main = 1\n')
    await expect.poll(() => editorText(alice), { timeout: 10_000 }).toBe('// alice\nexport const main = 1\n')
  }, 60_000)

  it('a reload comes back to the project (its URL names it)', async () => {
    expect(new URL(bob.url()).hash).toMatch(/^#project=[0-9a-f]{32}$/)
    await bob.reload()
    await row(bob, 'notes').waitFor()
    await bob.getByTestId('project-empty').waitFor()
    // And back to the start screen, where the project is listed.
    await bob.getByTestId('back-to-list').click()
    await bob.getByTestId('project-list').getByText('copy').waitFor()
  })

  it('marks in the tree the files Alice changed while Bob was offline, until he opens one', async () => {
    await bob.getByTestId('project-list').getByText('copy').click()
    await row(bob, 'notes').waitFor()
    await openPanel(bob, 'settings')
    await bob.getByTestId('settings-offline').check()
    await row(alice, 'lib/util.ts').click()
    await selectedTabsEditor(alice)
    await typeAtEnd(alice, '\nexport const more = 3')
    expect(await bob.getByTestId('tree-away').count()).toBe(0)
    await bob.getByTestId('settings-offline').uncheck()

    // Folded, lib says a file in it changed; unfolded, the file itself does.
    const libMark = row(bob, 'lib').getByTestId('tree-away')
    await libMark.waitFor({ timeout: 15_000 })
    expect(await libMark.getAttribute('title')).toBe('A file in here changed while you were away')
    expect(await bob.getByTestId('tree-away').count()).toBe(1)
    await row(bob, 'lib').click()
    const mark = row(bob, 'lib/util.ts').getByTestId('tree-away')
    expect(await mark.getAttribute('title')).toBe('Changed while you were away')
    expect(await libMark.count()).toBe(0)
    await shot(bob, '6-changed-while-away')
    expect(await seriousViolations(bob)).toEqual([])

    // Opened, it shows what changed (highlighted), and the mark goes.
    await row(bob, 'lib/util.ts').click()
    await selectedTabsEditor(bob)
    await bob.getByTestId('away').waitFor()
    await expect.poll(() => mark.count()).toBe(0)
  }, 60_000)

  it('a member removed from the project is told so, and can change nothing more', async () => {
    await row(bob, 'notes').click()
    await row(bob, 'notes/roadmap.md').click()
    await selectedTabsEditor(bob)
    expect(await bob.getByTestId('project-removed').count()).toBe(0)

    await openPanel(alice, 'share')
    const bobRow = alice.locator('[data-testid=member]', { hasText: 'bob' })
    await bobRow.getByTestId('member-remove').click()
    await bobRow.getByTestId('member-remove').click() // confirm
    await expect.poll(() => alice.getByTestId('member').count(), { timeout: 10_000 }).toBe(1)

    const notice = bob.getByTestId('project-removed')
    await notice.waitFor({ timeout: 10_000 })
    expect(await notice.textContent()).toContain('no longer a member')
    expect(await bob.getByTestId('tree-new-file').isDisabled()).toBe(true)
    // No one is with him any more, and no peer syncs with him.
    await expect.poll(() => bob.getByTestId('person').count()).toBe(0)
    await expect.poll(() => bob.getByTestId('peers').textContent(), { timeout: 10_000 }).toMatch(/^0 peers/)
    expect(await bob.locator('.tree-note').count()).toBe(0) // not told he is a viewer
    const before = await editorText(bob)
    await typeAtEnd(bob, 'not shared')
    expect(await editorText(bob)).toBe(before) // the editor is read-only
    await shot(bob, '7-removed')
    expect(await seriousViolations(bob)).toEqual([])
    await notice.getByRole('button', { name: 'Close project' }).click()
    await bob.getByTestId('start').waitFor()
  }, 60_000)
})
