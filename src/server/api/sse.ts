// Server-Sent Events: one event per line (`id`, `event`, `data` as JSON), a
// comment every 15 s so proxies keep the connection, and the client's
// Last-Event-ID tells where to resume after a reconnect.

import type { ApiResponse } from './exchange.ts';

export type EventStream = {
  send(event: { readonly id?: string; readonly event: string; readonly data: unknown }): void;
  onClose(fn: () => void): void;
};

export function openEventStream(res: ApiResponse): EventStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // nginx and similar proxies: do not buffer the stream.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  // A reconnecting client waits 1 s.
  res.write('retry: 1000\n\n');
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  keepAlive.unref();
  const closers: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const fn of closers) fn();
  };
  res.onClose(close);
  return {
    send({ id, event, data }) {
      if (closed) return;
      res.write(
        `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
      );
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}
