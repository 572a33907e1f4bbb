// Sensitive variable values never reach a log, a message or an error text.

export const MASK = '••••••';
const MIN_SECRET_LENGTH = 3;

export type Redactor = (text: string) => string;

export function makeRedactor(secrets: Iterable<string | number | boolean>): Redactor {
  const forms = new Set<string>();
  for (const secret of secrets) {
    const value = String(secret);
    if (value.length < MIN_SECRET_LENGTH) continue;
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
    forms.add(encodeURIComponent(value));
    forms.add(Buffer.from(value).toString('base64'));
  }
  // Longest first, so a secret that contains another is masked whole.
  const list = [...forms]
    .filter((f) => f.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of list) if (out.includes(form)) out = out.split(form).join(MASK);
    return out;
  };
}
