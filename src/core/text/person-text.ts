// What a person writes (a note, a lock's or an override's reason) as stored.

/** No NUL, well-formed, trimmed, at most 500 characters; null when empty. */
export function cleanPersonText(text: string | undefined): string | null {
  const clean = text?.replaceAll('\0', '').toWellFormed().trim().slice(0, 500) ?? '';
  return clean === '' ? null : clean;
}
