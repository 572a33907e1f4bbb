// The core port over the server's HTTP API (/api/v1): what `deploy-bot` and
// deploy-tui use in remote mode. The token decides who acts; refusals come
// back as the same Refusal (code and sentence) the in-process port throws.
// Live logs and run changes are Server-Sent Events that reconnect by
// themselves and resume from the last event seen (Last-Event-ID).

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { z } from 'zod';
import { REFUSAL_CODES, Refusal, type RefusalCode } from '../errors.ts';
import { lockTargetText } from '../policy/lock-target.ts';
import type { LogRange } from '../store/logs.ts';
import type { DeployPort, Page, RunChange } from './port.ts';
import type {
  DeploymentView,
  LockView,
  LogLine,
  PolicyEvaluationView,
  RunView,
  TransitionView,
  Unsubscribe,
  Via,
} from './types.ts';

/** The server answered, but not with what was asked: not signed in, rate-limited, unavailable. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const problemSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type HttpPortOptions = {
  /** The server's base URL, e.g. https://deploy.example.com */
  readonly server: string;
  readonly token: string;
  /** Recorded in the audit as the source: cli or tui. */
  readonly client: Extract<Via, 'cli' | 'tui' | 'api'>;
  /** Connection trouble while following (it reconnects by itself). */
  readonly onTrouble?: ((message: string) => void) | undefined;
  /** Run changes carry the run itself (`/events/runs?with=run`): deploy-tui redraws from them. */
  readonly runsInChanges?: boolean | undefined;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export function normaliseServer(server: string): string {
  const url = new URL(server);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${server} is not an http(s) URL`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function httpPort(options: HttpPortOptions): DeployPort & { me(): Promise<unknown> } {
  const base = `${normaliseServer(options.server)}/api/v1`;
  const headers = {
    authorization: `Bearer ${options.token}`,
    'x-deploy-client': options.client,
  };
  const followers = new Set<() => void>();

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...headers,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (cause) {
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach ${options.server}: ${(cause as Error & { cause?: Error }).cause?.message ?? (cause as Error).message}`,
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      throw new ApiError(
        response.status,
        'bad_response',
        `${options.server} answered ${response.status} with something other than JSON: is it a deploy-bot server?`,
      );
    }
    if (response.ok) return json as T;
    const problem = problemSchema.safeParse(json);
    if (!problem.success) {
      throw new ApiError(
        response.status,
        'bad_response',
        `${options.server} answered ${response.status}`,
      );
    }
    const { code, message, details } = problem.data;
    if ((REFUSAL_CODES as readonly string[]).includes(code)) {
      throw new Refusal(code as RefusalCode, message, details ?? {});
    }
    throw new ApiError(response.status, code, message);
  }

  /** Follows an event stream until stopped; resolves once the first connection is open. */
  async function follow(
    path: string,
    onEvent: (event: EventSourceMessage) => void,
    lastEventId: string | undefined,
    onReconnect?: () => void,
  ): Promise<Unsubscribe> {
    let last = lastEventId;
    let stopped = false;
    let controller = new AbortController();
    let opened: (error?: unknown) => void = () => {};
    const first = new Promise<void>((resolve, reject) => {
      opened = (error) => (error === undefined ? resolve() : reject(error));
    });
    let connectedOnce = false;
    const loop = async () => {
      let delay = 500;
      while (!stopped) {
        controller = new AbortController();
        try {
          const response = await fetch(`${base}${path}`, {
            headers: {
              ...headers,
              accept: 'text/event-stream',
              ...(last !== undefined ? { 'last-event-id': last } : {}),
            },
            signal: controller.signal,
          });
          if (!response.ok || !response.body) {
            const text = await response.text();
            const problem = problemSchema.safeParse(
              (() => {
                try {
                  return JSON.parse(text);
                } catch {
                  return null;
                }
              })(),
            );
            const error = problem.success
              ? (REFUSAL_CODES as readonly string[]).includes(problem.data.code)
                ? new Refusal(problem.data.code as RefusalCode, problem.data.message)
                : new ApiError(response.status, problem.data.code, problem.data.message)
              : new ApiError(
                  response.status,
                  'bad_response',
                  `${options.server} answered ${response.status}`,
                );
            // Who you are or what you asked for will not change by trying again.
            if (response.status < 500 && response.status !== 429) {
              if (!connectedOnce) opened(error);
              else options.onTrouble?.(error.message);
              return;
            }
            throw error;
          }
          if (connectedOnce) onReconnect?.();
          connectedOnce = true;
          opened();
          delay = 500;
          const parser = createParser({
            onEvent: (event) => {
              if (event.id !== undefined) last = event.id;
              onEvent(event);
            },
          });
          const decoder = new TextDecoder();
          for await (const chunk of response.body) {
            parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
          }
        } catch (error) {
          if (stopped) return;
          options.onTrouble?.(
            `the connection to ${options.server} was lost (${(error as Error).message}): reconnecting`,
          );
        }
        if (!stopped) {
          await sleep(delay);
          delay = Math.min(delay * 2, 10_000);
        }
      }
    };
    const running = loop();
    const stop = () => {
      stopped = true;
      controller.abort();
    };
    followers.add(stop);
    try {
      await first;
    } catch (error) {
      stop();
      followers.delete(stop);
      throw error;
    }
    return async () => {
      stop();
      followers.delete(stop);
      await running.catch(() => {});
    };
  }

  const runPath = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

  return {
    me: () => call('GET', '/me'),
    requestRun: (request) =>
      call<RunView>('POST', '/runs', {
        deployment: request.deployment,
        kind: request.kind ?? 'execute',
        variables: request.variables ?? {},
      }),
    approvePlan: (runId, o = {}) =>
      call<RunView>('POST', `${runPath(runId)}/approve`, { planId: o.planId }),
    confirmApply: (runId, o = {}) =>
      call<RunView>('POST', `${runPath(runId)}/apply`, {
        planId: o.planId,
        overrideReason: o.overrideReason,
      }),
    cancelRun: (runId, o = {}) =>
      call<RunView>('POST', `${runPath(runId)}/cancel`, { reason: o.reason }),
    getRun: (runId) => call<RunView>('GET', runPath(runId)),
    listRuns: (filter = {}) => {
      const q = new URLSearchParams();
      if (filter.deployment) q.set('deployment', filter.deployment);
      if (filter.environment) q.set('environment', filter.environment);
      if (filter.statuses?.length) q.set('status', filter.statuses.join(','));
      if (filter.limit !== undefined) q.set('limit', String(Math.min(filter.limit, 500)));
      if (filter.before) q.set('before', filter.before);
      return call<Page<RunView>>('GET', `/runs?${q}`);
    },
    listDeployments: async () =>
      (await call<{ items: DeploymentView[] }>('GET', '/deployments')).items,
    audit: async (runId) =>
      (await call<{ items: TransitionView[] }>('GET', `${runPath(runId)}/audit`)).items,
    policyAudit: async (runId) =>
      (await call<{ evaluations?: PolicyEvaluationView[] }>('GET', `${runPath(runId)}/audit`))
        .evaluations ?? [],
    readLogs: async (runId, range: LogRange = {}) => {
      const q = new URLSearchParams();
      if (range.tail !== undefined) q.set('tail', String(range.tail));
      else if (range.beforeId !== undefined) {
        q.set('before', String(range.beforeId));
        q.set('limit', String(Math.min(range.limit ?? 1000, 10_000)));
      } else {
        if (range.afterId !== undefined) q.set('after', String(range.afterId));
        q.set('limit', String(Math.min(range.limit ?? 1000, 10_000)));
      }
      return (await call<{ items: LogLine[] }>('GET', `${runPath(runId)}/logs?${q}`)).items;
    },
    countLogLines: async (runId) =>
      (await call<{ count: number }>('GET', `${runPath(runId)}/logs/count`)).count,
    followLogs: (runId, onLines, o = {}) => {
      let seen = o.afterId ?? 0;
      return follow(
        `${runPath(runId)}/logs/stream?after=${seen}`,
        (event) => {
          if (event.event !== 'line') return;
          const line = JSON.parse(event.data) as LogLine;
          if (line.id <= seen) return;
          seen = line.id;
          onLines([line]);
        },
        undefined,
      );
    },
    followRuns: (onChange, onResync) =>
      follow(
        options.runsInChanges === true ? '/events/runs?with=run' : '/events/runs',
        (event) => {
          if (event.event === 'change') onChange(JSON.parse(event.data) as RunChange);
          else if (event.event === 'resync') onResync?.();
        },
        undefined,
        onResync,
      ),
    lock: (target, reason) =>
      call<LockView>('POST', '/locks', { target: lockTargetText(target), reason }),
    unlock: (target) => call<LockView>('POST', '/locks/unlock', { target: lockTargetText(target) }),
    listLocks: async () => (await call<{ items: LockView[] }>('GET', '/locks')).items,
    close: async () => {
      for (const stop of followers) stop();
      followers.clear();
    },
  };
}
