/**
 * Plain text that people write and others read (now-playing titles, call
 * topics, chat): one rule for what may be signed and shown.
 */

/** Control (Cc), format (Cf: bidi overrides, zero-width joiners), line and paragraph separators, and unpaired surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

/**
 * `text` as one line: NFC, no control or format characters, single spaces,
 * trimmed, at most `maxChars` characters (code points).
 */
export function sanitizeLine (text: string, maxChars: number): string {
  const clean = text.normalize('NFC').replace(UNSAFE, ' ').replace(/\s+/gu, ' ').trim()
  const chars = [...clean]
  return chars.length <= maxChars ? clean : chars.slice(0, maxChars).join('').trimEnd()
}
