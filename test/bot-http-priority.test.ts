// The ack comes first: with a Slack endpoint, the thread that answers Slack
// keeps the process's CPU priority while the main thread (listeners, outbox,
// the engine's workers, the steps they start) lowers its own; a thread started
// again after a crash gets the HTTP thread's priority back, or says why not.
// A file of its own: it lowers the priority of the process it runs in.

import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BotHttpServer } from '../src/bot/http/receiver.ts';
import { createLog, type LogRecord } from '../src/bot/log.ts';

/** The nice value of each thread of this process, by thread name. */
function threadNices(): Map<string, { tid: string; nice: number }[]> {
  const byName = new Map<string, { tid: string; nice: number }[]>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      byName.set(name, [...(byName.get(name) ?? []), { tid, nice }]);
    } catch {
      // the thread ended while being read
    }
  }
  return byName;
}

describe.runIf(process.platform === 'linux')('CPU priority of the HTTP thread', () => {
  it('the main thread yields to the thread that acks, also after that thread is started again', async () => {
    const records: LogRecord[] = [];
    const server = new BotHttpServer({
      signingSecret: 'a-signing-secret',
      port: 0,
      host: '127.0.0.1',
      log: createLog({ level: 'debug', sink: (r) => records.push(r) }),
      routes: [],
      workNice: 5,
    });
    const base = os.getPriority(0);
    const address = await server.start();
    try {
      expect(os.getPriority(0)).toBe(Math.min(19, base + 5));
      const [first, ...more] = threadNices().get('slack-http') ?? [];
      expect(more).toEqual([]);
      expect(first?.nice).toBe(base);

      // The thread dies (a bug, out of memory): it is started again on the same port.
      const front = (server as unknown as { front: Worker }).front;
      await front.terminate();
      let res: Response | undefined;
      for (let i = 0; i < 100 && res === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res = await fetch(`http://127.0.0.1:${address.port}/slack/events`, {
          method: 'POST',
          body: 'x',
        }).catch(() => undefined);
      }
      const again = threadNices()
        .get('slack-http')
        ?.find((t) => t.tid !== first?.tid);
      expect(again, 'a new HTTP thread').toBeDefined();
      expect(res?.status).toBe(401); // unsigned, answered by the new thread
      const warned = records.filter((r) => r.msg.includes('runs at the lowered priority'));
      if (process.getuid?.() === 0) {
        // Raising a priority back needs CAP_SYS_NICE, which root has.
        expect(again?.nice).toBe(base);
        expect(warned).toEqual([]);
      } else {
        expect(again?.nice).toBe(Math.min(19, base + 5));
        expect(warned).toHaveLength(1);
        expect(warned[0]).toMatchObject({ level: 'warn', wanted: base });
      }
    } finally {
      await server.stop();
    }
  });

  it('without a Slack endpoint (Socket Mode acks on the main thread), nothing is lowered', async () => {
    const server = new BotHttpServer({
      signingSecret: null,
      port: 0,
      host: '127.0.0.1',
      log: createLog({ level: 'silent' }),
      routes: [],
      workNice: 5,
    });
    const before = os.getPriority(0);
    await server.start();
    try {
      expect(os.getPriority(0)).toBe(before);
    } finally {
      await server.stop();
    }
  });
});
