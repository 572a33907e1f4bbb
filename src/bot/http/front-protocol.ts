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
  /** Where /api/v1/… is forwarded (the API server on loopback), with its secret; null: no API. */
  readonly apiProxy: ApiProxy | null;
};

export type ApiProxy = { readonly port: number; readonly secret: string };

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
  | { readonly type: 'stop' };
