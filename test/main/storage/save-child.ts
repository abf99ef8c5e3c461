/**
 * For the atomic-save kill test: `node --import tsx save-child.ts <file>` saves two alternating 2 MB
 * contents to <file> as fast as it can, printing "saved" after each, until it is killed.
 */
import { nodeFs } from '../../../src/main/storage/fs-layer'
import { writeTextFile } from '../../../src/main/storage/text-file'

const file = process.argv[2]
if (!file) throw new Error('usage: save-child.ts <file>')
const contents = ['A', 'B'].map((c) => new TextEncoder().encode(c.repeat(2 * 1024 * 1024)))

async function main(): Promise<void> {
  for (let i = 0; ; i++) {
    await writeTextFile(nodeFs, file!, contents[i % 2]!)
    process.stdout.write('saved\n')
  }
}
main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
