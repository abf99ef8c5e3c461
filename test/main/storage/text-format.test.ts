import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/main/storage/errors'
import { decodeText, encodeText, type TextEncoding } from '../../../src/main/storage/text-format'

const encodings: TextEncoding[] = ['utf8', 'utf8-bom', 'utf16le', 'utf16be']
const raw = (s: string, encoding: TextEncoding): Uint8Array => {
  const bom = { utf8: '', 'utf8-bom': '\uFEFF', utf16le: '\uFEFF', utf16be: '\uFEFF' }[encoding]
  const buf = Buffer.from(bom + s, encoding === 'utf8' || encoding === 'utf8-bom' ? 'utf8' : 'utf16le')
  return new Uint8Array(encoding === 'utf16be' ? buf.swap16() : buf)
}

describe('text format detection', () => {
  const samples = {
    lf: 'first line\nsecond — ünïcödé 🎉\n\nlast',
    crlf: 'first line\r\nsecond — ünïcödé 🎉\r\n\r\nlast\r\n',
    mixed: 'unix\nwindows\r\nold mac\rend',
    none: 'no line break at all 🎉',
    empty: '',
  }

  for (const encoding of encodings) {
    for (const [name, sample] of Object.entries(samples)) {
      it(`round-trips ${name} line endings in ${encoding} byte for byte`, () => {
        const bytes = raw(sample, encoding)
        const { text, format } = decodeText(bytes, '/x.txt')
        expect(format.encoding).toBe(name === 'empty' && encoding === 'utf8' ? 'utf8' : encoding)
        expect(Buffer.from(encodeText(text, format)).equals(Buffer.from(bytes))).toBe(true)
      })
    }
  }

  it('gives the document LF for a CRLF file and keeps mixed files verbatim', () => {
    expect(decodeText(raw(samples.crlf, 'utf8'), '/x')).toEqual({
      text: samples.crlf.replaceAll('\r\n', '\n'),
      format: { encoding: 'utf8', eol: 'crlf' },
    })
    expect(decodeText(raw(samples.mixed, 'utf8'), '/x')).toEqual({
      text: samples.mixed,
      format: { encoding: 'utf8', eol: 'verbatim' },
    })
    expect(decodeText(raw(samples.lf, 'utf16be'), '/x').format).toEqual({ encoding: 'utf16be', eol: 'lf' })
  })

  it('writes CRLF back for lines added to a CRLF document', () => {
    const { text, format } = decodeText(raw('a\r\nb', 'utf8-bom'), '/x')
    expect(Buffer.from(encodeText(`${text}\nc`, format)).toString('utf8')).toBe('\uFEFFa\r\nb\r\nc')
  })

  it('keeps a second BOM as a character', () => {
    const { text } = decodeText(raw('\uFEFFx', 'utf8-bom'), '/x')
    expect(text).toBe('\uFEFFx')
  })

  it.each([
    ['invalid UTF-8', new Uint8Array([0x61, 0xff, 0xfe, 0x62]).subarray(0), /not valid UTF-8/],
    ['a NUL byte', new Uint8Array([0x61, 0x00, 0x62]), /NUL/],
    ['UTF-16 without a BOM', new Uint8Array(Buffer.from('text', 'utf16le')), /NUL/],
    ['UTF-16 of odd length', new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x62]), /not valid UTF-16LE/],
    [
      'a lone surrogate in UTF-16',
      new Uint8Array([0xfe, 0xff, 0xd8, 0x00, 0x00, 0x61]),
      /not valid UTF-16BE/,
    ],
  ])('refuses %s as not text, naming the file', (_name, bytes, why) => {
    let error: unknown
    try {
      decodeText(bytes, '/home/u/file.bin')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ code: 'NOT_TEXT', path: '/home/u/file.bin' })
    expect((error as Error).message).toMatch(why)
    expect((error as Error).message).toContain('/home/u/file.bin')
  })
})
