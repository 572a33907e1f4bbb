// Reading a request body with a size limit and writing small answers, for the
// HTTP front thread (node:http only: the thread stays small).

import type { IncomingMessage, ServerResponse } from 'node:http';

export class TooLarge extends Error {
  override readonly name = 'TooLarge';
}

/**
 * The whole body; rejects with TooLarge past `limit` bytes. The connection is
 * dropped there, or, with `drainUpTo`, the rest is read and thrown away (up to
 * that many bytes in all) so that the client can read the answer that says why.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  options: { readonly drainUpTo?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (size > (options.drainUpTo ?? 0)) {
        reject(new TooLarge());
        req.destroy();
      }
    });
    req.on('end', () => (size > limit ? reject(new TooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `text` is JSON already ('' for no body). */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendText(res, status, body === undefined ? '' : JSON.stringify(body), headers);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}
