// Ephemeral replies to the person who typed a command or clicked a button: via
// the request's response_url (what it is for), falling back to
// chat.postEphemeral when the URL fails. Never used for run messages.

import http from 'node:http';
import https from 'node:https';
import type { WebClient } from '@slack/web-api';
import type { Log } from '../log.ts';
import type { RenderedMessage } from '../render/blocks.ts';

export type Reply = (message: RenderedMessage | string) => Promise<void>;

export type ReplyTarget = {
  readonly responseUrl: string | undefined;
  readonly channel: string | undefined;
  readonly user: string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// node:http rather than fetch: a reply is sent for most commands, and fetch
// costs several times the CPU of a plain request for these small bodies.
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** POSTs `body` as JSON; resolves with the HTTP status, rejects on network trouble or after `timeoutMs`. */
function postJson(url: string, body: unknown, timeoutMs: number): Promise<number> {
  const target = new URL(url);
  const send =
    target.protocol === 'https:'
      ? https.request
      : target.protocol === 'http:'
        ? http.request
        : null;
  if (send === null) return Promise.reject(new Error(`not an http(s) URL: ${target.protocol}`));
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        agent: target.protocol === 'https:' ? agents['https:'] : agents['http:'],
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          clearTimeout(timer);
          resolve(res.statusCode ?? 0);
        });
        res.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs).unref();
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(text);
  });
}

export function createReply(
  target: ReplyTarget,
  deps: { readonly client: WebClient; readonly log: Log; readonly timeoutMs?: number },
): Reply {
  return async (message) => {
    const rendered: RenderedMessage =
      typeof message === 'string' ? { text: message, blocks: [] } : message;
    const payload = {
      response_type: 'ephemeral',
      replace_original: false,
      text: rendered.text,
      ...(rendered.blocks.length > 0 ? { blocks: rendered.blocks } : {}),
    };
    if (target.responseUrl !== undefined) {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const status = await postJson(target.responseUrl, payload, deps.timeoutMs ?? 5000);
          if (status >= 200 && status < 300) return;
          // 404 expired_url / used_url, 400 invalid: trying again does not help.
          if (status < 500 && status !== 429) break;
        } catch {
          // network trouble: try again
        }
        await sleep(250 * 2 ** attempt);
      }
    }
    if (target.channel === undefined) {
      deps.log.warn('could not deliver an ephemeral reply', { userId: target.user });
      return;
    }
    try {
      await deps.client.chat.postEphemeral({
        channel: target.channel,
        user: target.user,
        text: rendered.text,
        ...(rendered.blocks.length > 0 ? { blocks: rendered.blocks } : {}),
      });
    } catch (error) {
      deps.log.warn('could not deliver an ephemeral reply', { userId: target.user, error });
    }
  };
}
