/**
 * The crash test's victim: `node --import tsx crash-child.ts <data dir> <seed> <first edit>`. Opens the
 * document, then applies the edit sequence from <first edit> on, as fast as it can with up to eight edits
 * awaiting their fsync, and prints each edit's number once DurableDoc reports it durable. The parent kills
 * it with SIGKILL at a random moment. (stdout is a pipe, which Node writes synchronously on Linux.)
 */
import { DurableDoc } from '../../../src/main/storage/durable-doc'
import { FileStore } from '../../../src/main/storage/file-store'
import { editFor } from './edit-sequence'

const [dir, seedArg, startArg] = process.argv.slice(2)
if (!dir || !seedArg || !startArg) throw new Error('usage: crash-child.ts <data dir> <seed> <first edit>')
const seed = Number(seedArg)

async function main(): Promise<void> {
  // A low threshold, so that kills also land in the middle of snapshot writes and pruning.
  const doc = await DurableDoc.open(new FileStore({ dir: dir! }), 'crash', { compactAfterRecords: 40 })
  process.stdout.write('ready\n')
  const window: Promise<void>[] = []
  for (let i = Number(startArg); ; i++) {
    const edit = editFor(seed, i, doc.text.length)
    const durable =
      edit.kind === 'insert' ? doc.insert(edit.index, edit.text) : doc.delete(edit.index, edit.length)
    window.push(durable.then(() => void process.stdout.write(`${i}\n`)))
    if (window.length >= 8) await window.shift()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
