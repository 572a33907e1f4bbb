// What the API answers: a request as serve's HTTP front thread hands it over,
// and where its answer goes (back to that thread, which writes it to the client).

import type { IncomingHttpHeaders } from 'node:http';

/**
 * A request as serve's HTTP front thread hands it over (its body read whole,
 * at most 256 KiB; the client's address as its socket saw it).
 */
export type ApiRequest = {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly client: string;
  readonly body: Uint8Array | null;
};

/** Where the answer goes (back to the front thread, which writes it to the client). */
export interface ApiResponse {
  readonly headersSent: boolean;
  readonly finished: boolean;
  writeHead(status: number, headers: Readonly<Record<string, string | number>>): void;
  flushHeaders(): void;
  write(text: string): void;
  end(text?: string): void;
  onClose(fn: () => void): void;
}
