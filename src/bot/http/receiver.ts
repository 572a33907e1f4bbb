// The bot's HTTP server and Bolt receiver. The server itself runs in a worker
// thread (front-thread.ts): POST /slack/events takes Slack's slash commands and
// clicks there; a forged, unsigned or stale request gets 401 and goes no
// further; a malformed body gets 400; every accepted request is answered 200
// at once, in the thread, whatever the main thread is busy with (the engine's
// workers, the outbox, other listeners), and then handed to Bolt here. Other
// routes (health, readiness, the JSON API) are plain handlers on this thread,
// asked by the thread over its port. Nothing a client sends can crash the process.
//
// Bolt's HTTPReceiver was not used because it answers a signed but malformed
// payload with 404 after 3 s or 500, accepts timestamps from the future, and
// acks on the thread that runs the listeners.

import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Log } from '../log.ts';
import type {
  ApiForward,
  ForwardedResponse,
  FrontMessage,
  FrontOptions,
  MainMessage,
} from './front-protocol.ts';
import { lowerThreadPriority, type NiceChange } from './thread-priority.ts';

export const EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 1024 * 1024;
/** The thread gets this long to close its connections before it is terminated. */
const STOP_GRACE_MS = 3000;

export type RouteRequest = {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
};

export type RouteHandler = (
  req: RouteRequest,
  url: URL,
) => Promise<{
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}>;

export type Route = {
  readonly method: 'GET';
  /** Matches the path exactly, or a prefix when it ends with "/". */
  readonly path: string;
  readonly handler: RouteHandler;
};

export type BotHttpServerOptions = {
  /** Null: no Slack endpoint (Socket Mode, or no Slack at all). */
  readonly signingSecret: string | null;
  readonly port: number;
  readonly host?: string | undefined;
  readonly routes: readonly Route[];
  readonly log: Log;
  /**
   * With a Slack endpoint: how much lower this (the main) thread's CPU priority
   * is made than the HTTP thread's once it listens (a nice value; 0: unchanged).
   */
  readonly workNice?: number;
  /** What answers /api/v1/… (src/server/api/server.ts); without it, 404. */
  readonly api?: ApiForward | null | undefined;
};

type EventMessage = Extract<FrontMessage, { type: 'event' }>;
type RouteMessage = Extract<FrontMessage, { type: 'route' }>;
type ApiMessage = Extract<FrontMessage, { type: 'api' }>;

/**
 * The answer to one forwarded /api/v1 request, written back over the thread's
 * port: a whole answer in one message; a stream as its head, then its chunks.
 */
function forwardedResponse(
  post: (message: MainMessage) => void,
  id: number,
): ForwardedResponse & { close(): void } {
  let head: { status: number; headers: Readonly<Record<string, string | number>> } | null = null;
  let headSent = false;
  let finished = false;
  /** Chunks written in this turn of the event loop: one message for all of them. */
  let pending = '';
  const closers: (() => void)[] = [];
  const close = () => {
    if (closers.length === 0) return;
    for (const fn of closers.splice(0)) fn();
  };
  const sendHead = () => {
    if (headSent || head === null) return;
    headSent = true;
    post({ type: 'api-head', id, status: head.status, headers: head.headers });
  };
  return {
    get headersSent() {
      return head !== null;
    },
    get finished() {
      return finished;
    },
    writeHead(status, headers) {
      if (head === null) head = { status, headers };
    },
    flushHeaders: sendHead,
    write(text) {
      if (finished || text === '') return;
      sendHead();
      if (pending === '')
        queueMicrotask(() => {
          if (pending === '') return;
          const chunk = pending;
          pending = '';
          post({ type: 'api-data', id, text: chunk });
        });
      pending += text;
    },
    end(text = '') {
      if (finished) return;
      finished = true;
      const rest = pending + text;
      pending = '';
      if (headSent || head === null) post({ type: 'api-end', id, text: rest });
      else post({ type: 'api-answer', id, status: head.status, headers: head.headers, text: rest });
      close();
    },
    onClose(fn) {
      if (finished) fn();
      else closers.push(fn);
    },
    close,
  };
}

export class BotHttpServer implements Receiver {
  private app: App | undefined;
  private front: Worker | undefined;
  /** The port the server got (for a restart of the thread when asked for port 0). */
  private boundPort = 0;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  /** The main thread's priority, lowered once for this server. */
  private lowered: NiceChange | null = null;
  private readonly options: BotHttpServerOptions;
  private readonly log: Log;
  /** Forwarded /api/v1 requests whose answer has not ended (their client may go away). */
  private readonly apiOpen = new Map<number, { close(): void }>();

  constructor(options: BotHttpServerOptions) {
    this.options = options;
    this.log = options.log.child({ component: 'http' });
  }

  init(app: App): void {
    this.app = app;
    this.send({ type: 'app-ready' });
  }

  /** Listens; resolves with the address (port 0 picks a free one). */
  async start(): Promise<AddressInfo> {
    if (this.front) throw new Error('the HTTP server is already started');
    this.stopped = false;
    const { worker, address } = await this.startFront(this.options.port);
    this.front = worker;
    this.boundPort = address.port;
    this.stopping = undefined;
    this.lowerWorkPriority();
    return address;
  }

  /** The ack comes first: the rest of the process's work yields the CPU to the HTTP thread. */
  private lowerWorkPriority(): void {
    const by = this.options.workNice ?? 0;
    if (this.options.signingSecret === null || by <= 0 || this.lowered !== null) return;
    try {
      this.lowered = lowerThreadPriority(by);
      if (this.lowered)
        this.log.debug('main thread priority lowered', {
          nice: this.lowered.to,
          httpThreadNice: this.lowered.from,
        });
    } catch (error) {
      this.log.warn('could not lower the main thread’s CPU priority (DEPLOY_BOT_WORK_NICE)', {
        error,
      });
    }
  }

  /** Closes the server (open requests get a moment to finish) and ends its thread. */
  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.front;
    this.front = undefined;
    if (!worker) return this.stopping;
    this.stopping = new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      const post: MainMessage = { type: 'stop' };
      worker.postMessage(post);
      setTimeout(() => void worker.terminate(), STOP_GRACE_MS).unref();
    });
    return this.stopping;
  }

  private send(message: MainMessage): void {
    this.front?.postMessage(message);
  }

  private startFront(port: number): Promise<{ worker: Worker; address: AddressInfo }> {
    const data: FrontOptions = {
      signingSecret: this.options.signingSecret,
      port,
      host: this.options.host,
      eventsPath: EVENTS_PATH,
      bodyLimit: BODY_LIMIT,
      routes: this.options.routes.map((r) => ({ method: r.method, path: r.path })),
      appReady: this.app !== undefined,
      // A thread started again by the lowered main thread inherits its priority.
      nice: this.lowered?.from ?? null,
      api: this.options.api !== null && this.options.api !== undefined,
    };
    const worker = new Worker(new URL('./front-thread.ts', import.meta.url), {
      workerData: data,
      // The thread's name in ps -L, top -H and /proc (at most 15 characters).
      name: 'slack-http',
      // Not the process's flags: the thread must not run preloaded modules again.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
    });
    return new Promise((resolve, reject) => {
      let listening = false;
      let failure: Error | undefined;
      worker.on('message', (message: FrontMessage) => {
        switch (message.type) {
          case 'listening':
            listening = true;
            resolve({ worker, address: message.address });
            return;
          case 'listen-error':
            failure = Object.assign(new Error(message.message), { code: message.code });
            void worker.terminate();
            return;
          case 'closed':
            void worker.terminate();
            return;
          case 'log':
            this.log[message.level](message.msg, message.fields);
            return;
          case 'event':
            this.onEvent(message);
            return;
          case 'route':
            void this.onRoute(worker, message);
            return;
          case 'api':
            this.onApi(worker, message);
            return;
          case 'api-closed':
            this.apiOpen.get(message.id)?.close();
            this.apiOpen.delete(message.id);
            return;
        }
      });
      worker.on('error', (error) => {
        failure = error;
        this.log.error('the HTTP thread failed', { error });
      });
      worker.on('exit', (code) => {
        // Its clients are gone with it: open streams stop following.
        for (const open of [...this.apiOpen.values()]) open.close();
        this.apiOpen.clear();
        if (!listening) {
          reject(failure ?? new Error(`the HTTP thread exited (${code}) before listening`));
          return;
        }
        if (this.front === worker) this.restart(code);
      });
    });
  }

  /** The thread died while serving (a bug, or out of memory): serve again on the same port. */
  private restart(code: number): void {
    this.front = undefined;
    this.log.error('the HTTP thread stopped: starting it again', { code });
    const retry = (delayMs: number) => {
      setTimeout(() => {
        if (this.stopped || this.front !== undefined) return;
        this.startFront(this.boundPort).then(
          ({ worker }) => {
            if (this.stopped) void worker.terminate();
            else this.front = worker;
          },
          (error: unknown) => {
            this.log.error('the HTTP thread could not listen again', { error });
            retry(Math.min(delayMs * 2, 30_000));
          },
        );
      }, delayMs).unref();
    };
    retry(500);
  }

  /** A Slack request the thread has answered already: Bolt runs the listeners. */
  private onEvent(message: EventMessage): void {
    const app = this.app;
    if (!app) return;
    const { kind } = message;
    this.log.debug('acknowledged', {
      ms: Math.round(message.ackMs * 100) / 100,
      queuedMs: Date.now() - message.ackedAt,
      kind,
    });
    const event: ReceiverEvent = {
      // Bolt gets the body as Slack sent it (it reads fields beyond those validated).
      body: message.body,
      // The thread has answered 200 with an empty body (an ack here sends
      // nothing), except for a held request, whose answer is the ack's.
      ack: async (response?: unknown) => {
        const empty = response === undefined || response === null || response === '';
        if (message.answerId !== undefined) {
          this.send({
            type: 'answer',
            id: message.answerId,
            text: empty ? '' : JSON.stringify(response),
          });
          return;
        }
        if (empty) return;
        this.log.error(
          'a listener acknowledged with content, which the receiver cannot send: reply on the response_url instead',
          { kind },
        );
      },
      ...(message.retryNum !== undefined ? { retryNum: message.retryNum } : {}),
      ...(message.retryReason !== undefined ? { retryReason: message.retryReason } : {}),
      customProperties: {},
    };
    app.processEvent(event).catch((error: unknown) => {
      this.log.error('processing a Slack request failed', { error, kind });
    });
  }

  /** An /api/v1 request: the API answers it here, back over the thread's port. */
  private onApi(worker: Worker, message: ApiMessage): void {
    const api = this.options.api;
    const res = forwardedResponse((m) => worker.postMessage(m), message.id);
    if (!api) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ code: 'not_found', message: 'no API here' }));
      return;
    }
    this.apiOpen.set(message.id, res);
    res.onClose(() => this.apiOpen.delete(message.id));
    const { type: _type, id: _id, ...req } = message;
    api(req, res).catch((error: unknown) => {
      this.log.error('an API request failed', { error, path: message.url });
      if (!res.headersSent) res.writeHead(500, { 'content-length': 0 });
      res.end();
    });
  }

  private async onRoute(worker: Worker, message: RouteMessage): Promise<void> {
    const route = this.options.routes[message.route];
    let result: MainMessage;
    try {
      if (!route) throw new Error(`no route ${message.route}`);
      const out = await route.handler(
        { method: message.method, headers: message.headers },
        new URL(message.url, 'http://bot.invalid'),
      );
      result = {
        type: 'route-result',
        id: message.id,
        status: out.status,
        // A string is the body as is (its content-type in headers: /metrics); anything else is JSON.
        text:
          out.body === undefined
            ? ''
            : typeof out.body === 'string'
              ? out.body
              : JSON.stringify(out.body),
        headers: out.headers ?? {},
      };
    } catch (error) {
      this.log.error('request failed', { error, path: message.url });
      result = { type: 'route-result', id: message.id, status: 500, text: '', headers: {} };
    }
    worker.postMessage(result);
  }
}
