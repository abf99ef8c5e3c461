import { describe, expect, it } from 'vitest'
import { docTitle, fileName } from '../../src/shared/doc-title'

describe('a document’s name', () => {
  it('is its title property, else its file’s name, else "Untitled"', () => {
    expect(docTitle('Plan', '/home/ana/notes.md')).toBe('Plan')
    expect(docTitle('', '/home/ana/notes.md')).toBe('notes.md')
    expect(docTitle('   ', 'C:\\Users\\ana\\notes.md')).toBe('notes.md')
    expect(docTitle(null, null)).toBe('Untitled')
    expect(docTitle(undefined, '')).toBe('Untitled')
  })

  it('is one line without control or bidi-override characters (a title comes from peers)', () => {
    expect(docTitle('a\nb\u202e', null)).toBe('a\u23CEb\uFFFD')
  })

  it('takes the last part of a path with either separator', () => {
    expect(fileName('/a/b.txt')).toBe('b.txt')
    expect(fileName('C:\\a\\b.txt')).toBe('b.txt')
    expect(fileName('b.txt')).toBe('b.txt')
  })
})
