// Issue 15: the form and the Home. Against a real `deploy-bot serve` and the
// tests' fake Slack: (1) `/deploy` alone, signed, at 20 requests per second:
// the time from sending the command to the fake Slack receiving views.open
// for its trigger id (the 3-second trigger window); (2) 100 people open their
// Home (signed app_home_opened events), then a run changes: the time from the
// change to each of the 100 Homes being published again showing it.

import http from 'node:http';
import { DeployCore } from '../src/core/api/core.ts';
import { startFakeSlack } from '../test/support/fake-slack.ts';
import { signSlackRequest } from '../test/support/slack-signing.ts';
import { freshDatabase, sleep, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { revision } from './lib/revision.ts';
import {
  commandBody,
  keepAlive,
  postSigned,
  SIGNING_SECRET,
  type SlackServe,
  startSlackServe,
} from './lib/slack.ts';
import { ms, summarize } from './lib/stats.ts';

const RPS = Number(process.env.BENCH_FORM_RPS ?? 20);
const SECONDS = Number(process.env.BENCH_FORM_SECONDS ?? 10);
const PEOPLE = Number(process.env.BENCH_HOME_PEOPLE ?? 100);

const CONFIG = `deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    notify: none
    source: { kind: directory, path: ./app }
    variables:
      image_tag: { type: string, default: "1.0.0", pattern: "^[a-z0-9._-]+$" }
      replicas: { type: number, default: 2, integer: true, min: 1, max: 10 }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 5m }
`;
const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': '#!/bin/sh\necho applying\n',
};

function postEvent(url: string, user: string): Promise<number> {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'TFAKETEAM1',
    api_app_id: 'AFAKEAPP01',
    event: {
      type: 'app_home_opened',
      user,
      channel: 'D1',
      tab: 'home',
      event_ts: `${Date.now() / 1000}`,
    },
    event_id: `Ev${user}`,
    event_time: Math.floor(Date.now() / 1000),
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: keepAlive,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...signSlackRequest(SIGNING_SECRET, body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchViews(report: Report) {
  const db = await freshDatabase('views');
  const ws = workspace(CONFIG, FILES);
  const slack = await startFakeSlack({ homeRateLimit: { max: 100, perMs: 10_000 } });
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  let serve: SlackServe | null = null;
  try {
    serve = await startSlackServe(ws, db.url, slack);
    const eventsUrl = serve.eventsUrl;

    // (1) /deploy alone at RPS for SECONDS.
    const form = report.section(
      `The Deploy form: /deploy alone at ${RPS} requests/s for ${SECONDS} s, command sent → views.open received`,
      'npm run bench -- views',
    );
    for (let i = 0; i < 5; i++) await postSigned(eventsUrl, commandBody(slack, ''));
    await sleep(500);
    slack.reset();
    const sent = new Map<string, number>();
    const acks: number[] = [];
    const total = RPS * SECONDS;
    const started = Date.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const at = started + (i * 1000) / RPS;
      const wait = at - Date.now();
      if (wait > 0) await sleep(wait);
      const body = commandBody(slack, '', `U0PERSON${String(i % 50).padStart(3, '0')}`);
      sent.set(new URLSearchParams(body).get('trigger_id')!, Date.now());
      pending.push(postSigned(eventsUrl, body).then((a) => acks.push(a.ms)));
    }
    await Promise.all(pending);
    await slack.waitFor(() => slack.callsTo('views.open').length >= total, 15_000).catch(() => {});
    const opens = slack.callsTo('views.open');
    const delays = opens
      .map((c) => {
        const trigger = String(c.args.trigger_id);
        const t = sent.get(trigger);
        return t !== undefined && c.response.ok === true ? c.at - t : null;
      })
      .filter((d): d is number => d !== null);
    const s = summarize(delays);
    row(form, 'forms opened', `${delays.length} of ${total}`, `${total}`, delays.length === total);
    row(form, 'command → views.open p50', ms(s.p50));
    row(form, 'command → views.open p99', ms(s.p99), '< 300 ms', s.p99 < 300);
    row(form, 'command → views.open max', ms(s.max), '< 3 s (trigger window)', s.max < 3000);
    row(form, 'ack p99', ms(summarize(acks).p99));
    form.notes.push(
      `${total} signed \`/deploy\` (no text) from 50 people, one every ${1000 / RPS} ms, to a real \`deploy-bot serve\`; the delay is from sending the request to the fake Slack receiving views.open with its trigger id (its own clock, same machine). A form that was not opened (an expired trigger) would count as missing.`,
      `Product at ${revision()}.`,
    );

    // (2) 100 Homes, then a run change.
    const home = report.section(
      `The Home: ${PEOPLE} people opened it, then a run changes: change → each Home published again`,
      'npm run bench -- views',
    );
    const people = Array.from({ length: PEOPLE }, (_, i) => `U0HOME${String(i).padStart(4, '0')}`);
    await Promise.all(people.map((u) => postEvent(eventsUrl, u)));
    await slack.waitFor(() => people.every((u) => slack.home(u) !== undefined), 30_000);
    // Past the per-person gap, so the change's publish is not held back by the opening's.
    await sleep(3500);
    const runs = await core.listRuns({ deployment: 'web' });
    for (const r of runs) await core.cancelRun(r.id, { id: 'system', via: 'cli' }).catch(() => {});
    await sleep(3500);
    const marks = new Map(people.map((u) => [u, slack.home(u)!.versions.length]));
    const request = commandBody(slack, 'web', 'U0REQUESTER');
    await postSigned(eventsUrl, request);
    let runId = '';
    for (let i = 0; i < 200 && runId === ''; i++) {
      const [r] = await core.listRuns({
        deployment: 'web',
        statuses: ['pending', 'initializing', 'planning', 'awaiting_plan_approval', 'queued'],
      });
      if (r) runId = r.id;
      else await sleep(20);
    }
    const createdAt = Date.parse((await core.transitions(runId))[0]!.at);
    await slack
      .waitFor(
        () =>
          people.every((u) =>
            slack
              .home(u)!
              .versions.slice(marks.get(u))
              .some((v) => JSON.stringify(v.view).includes(runId)),
          ),
        20_000,
      )
      .catch(() => {});
    const lags = people
      .map((u) =>
        slack
          .home(u)!
          .versions.slice(marks.get(u))
          .find((v) => JSON.stringify(v.view).includes(runId)),
      )
      .filter((v) => v !== undefined)
      .map((v) => v.at - createdAt);
    const h = summarize(lags);
    row(
      home,
      'Homes showing the new run',
      `${lags.length} of ${PEOPLE}`,
      `${PEOPLE}`,
      lags.length === PEOPLE,
    );
    row(home, 'change → Home published p50', ms(h.p50));
    row(
      home,
      'change → Home published, slowest',
      ms(h.max),
      '< 2 s',
      lags.length === PEOPLE && h.max < 2000,
    );
    home.notes.push(
      `${PEOPLE} people open their Home (signed app_home_opened events); after the per-person gap (3 s) a run is requested with a signed \`/deploy web\`. The change time is the run's first transition (database clock); a Home counts when the fake Slack receives a views.publish for that person that shows the run (same machine).`,
      `Product at ${revision()}.`,
    );
  } finally {
    await serve?.proc.stop();
    await core.close();
    await slack.close();
    await db.drop();
  }
}
