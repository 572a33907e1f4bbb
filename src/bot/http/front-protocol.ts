// The messages between the HTTP front (front-thread.ts, a worker thread that
// owns the listening server) and BotHttpServer on the main thread. Both ends
// are this code, so the types are the contract; what Slack sends is validated
// in the thread before anything crosses.

import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FrontRoute = {
  readonly method: 'GET';
  /** Matches the path exactly, or a prefix when it ends with "/". */
  readonly path: string;
};

/** The thread's workerData. */
export type FrontOptions = {
  /** Null: no Slack endpoint (Socket Mode, or no Slack at all). */
  readonly signingSecret: string | null;
  readonly port: number;
  readonly host: string | undefined;
  readonly eventsPath: string;
  readonly bodyLimit: number;
  readonly routes: readonly FrontRoute[];
  /** Whether the main thread has its Bolt app (otherwise Slack requests get 503). */
  readonly appReady: boolean;
  /** The nice value the thread runs at (the main thread's before it lowered its own); null: as started. */
  readonly nice: number | null;
  /** Whether /api/v1/… is answered (by the main thread, over the port); false: 404. */
  readonly api: boolean;
};

/** An /api/v1 request as the thread hands it over: its body read whole. */
export type ForwardedRequest = {
  readonly method: string;
  /** The path and query, as the client sent them. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's address, as the thread's socket saw it. */
  readonly client: string;
  readonly body: Uint8Array | null;
};

/** The answer to a forwarded request, as the main thread writes it. */
export interface ForwardedResponse {
  readonly headersSent: boolean;
  readonly finished: boolean;
  writeHead(status: number, headers: Readonly<Record<string, string | number>>): void;
  /** Sends the head now: a stream (Server-Sent Events) starts. */
  flushHeaders(): void;
  write(text: string): void;
  end(text?: string): void;
  /** The client went away, or the answer ended. */
  onClose(fn: () => void): void;
}

/** What answers /api/v1 on the main thread (src/server/api/handler.ts). */
export type ApiForward = (req: ForwardedRequest, res: ForwardedResponse) => Promise<void>;

/** The largest /api/v1 request body the thread reads (413 beyond). */
export const API_BODY_LIMIT = 256 * 1024;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Thread → main. */
export type FrontMessage =
  | { readonly type: 'listening'; readonly address: AddressInfo }
  | { readonly type: 'listen-error'; readonly message: string; readonly code: string | undefined }
  /** A verified Slack request, already answered 200 with an empty body. */
  | {
      readonly type: 'event';
      readonly kind: string;
      /** The body as Slack sent it (form fields, or the JSON payload). */
      readonly body: Record<string, unknown>;
      readonly retryNum: number | undefined;
      readonly retryReason: string | undefined;
      /** Request received → answer sent, in the thread (ms). */
      readonly ackMs: number;
      /** Date.now() when the answer was sent. */
      readonly ackedAt: number;
      /**
       * Set for requests whose answer carries content (a view_submission's
       * `response_action`): the thread waits for an `answer` with this id
       * instead of answering at once.
       */
      readonly answerId?: number;
    }
  /** A request for one of the main thread's routes; answered with a `route-result` of the same id. */
  | {
      readonly type: 'route';
      readonly id: number;
      readonly route: number;
      readonly url: string;
      readonly method: string;
      readonly headers: IncomingHttpHeaders;
    }
  | {
      readonly type: 'log';
      readonly level: LogLevel;
      readonly msg: string;
      readonly fields: Record<string, unknown>;
    }
  /** An /api/v1 request: answered by `api-answer`, or `api-head`, `api-data`… `api-end`. */
  | ({ readonly type: 'api'; readonly id: number } & ForwardedRequest)
  /** The client of an /api/v1 request went away before its answer ended. */
  | { readonly type: 'api-closed'; readonly id: number }
  /** The server is closed (after a `stop`): the thread may be terminated. */
  | { readonly type: 'closed' };

/** Main → thread. */
export type MainMessage =
  | { readonly type: 'app-ready' }
  | {
      readonly type: 'route-result';
      readonly id: number;
      readonly status: number;
      /** JSON text, or '' for no body. */
      readonly text: string;
      readonly headers: Readonly<Record<string, string>>;
    }
  /** The listener's ack of a held request (`text`: JSON, or '' for an empty 200). */
  | { readonly type: 'answer'; readonly id: number; readonly text: string }
  /** A whole /api/v1 answer in one message (the common case). */
  | {
      readonly type: 'api-answer';
      readonly id: number;
      readonly status: number;
      readonly headers: Readonly<Record<string, string | number>>;
      readonly text: string;
    }
  /** The head of a streamed /api/v1 answer; then `api-data`, and `api-end`. */
  | {
      readonly type: 'api-head';
      readonly id: number;
      readonly status: number;
      readonly headers: Readonly<Record<string, string | number>>;
    }
  | { readonly type: 'api-data'; readonly id: number; readonly text: string }
  | { readonly type: 'api-end'; readonly id: number; readonly text: string }
  | { readonly type: 'stop' };
