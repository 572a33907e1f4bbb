// The Slack bot's own tables: the outbox of run messages and the record of
// Slack requests already handled. Their migrations are the bot's own, in
// drizzle/bot/ (drizzle.bot.config.ts), applied by the processes that run the
// bot (src/bot/store/migrate.ts).

import { pgCore, sql } from '../../db/orm.ts';

const { bigint, boolean, index, integer, pgTable, primaryKey, text, timestamp } = pgCore;

/**
 * The core's runs table, as far as the bot's foreign keys see it (a run's id):
 * not exported, so the bot's migrations never create or change it.
 */
const runs = pgTable('runs', { id: text('id').primaryKey() });

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * One row per run that has (or is to have) a Slack message: where it is, what
 * version of the run it shows, and what of its thread (plan, failure log) is
 * posted. The outbox brings the message up to date from here; all of its
 * state lives in this row, so any bot process can deliver any run.
 */
export const slackMessages = pgTable(
  'slack_messages',
  {
    runId: text('run_id')
      .primaryKey()
      .references(() => runs.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    /** The message's ts once posted; null until the first chat.postMessage succeeded. */
    ts: text('ts'),
    /** Who asked for the run, and where to tell them when the message cannot be posted. */
    requestedBy: text('requested_by').notNull(),
    responseUrl: text('response_url'),
    /** The run version the message shows (0: nothing delivered yet). */
    deliveredVersion: integer('delivered_version').notNull().default(0),
    deliveredStatus: text('delivered_status'),
    /** The newest log line id the message shows. */
    deliveredLogId: bigint('delivered_log_id', { mode: 'number' }).notNull().default(0),
    /** The plan whose full text is being (or was) posted into the thread, and how far. */
    planThreadId: text('plan_thread_id'),
    planThreadParts: integer('plan_thread_parts').notNull().default(0),
    planThreadDone: boolean('plan_thread_done').notNull().default(false),
    /** The full log of a failed run in the thread. */
    logThreadParts: integer('log_thread_parts').notNull().default(0),
    logThreadDone: boolean('log_thread_done').notNull().default(false),
    /** Nothing more to deliver: the run is finished and its message and thread show it all. */
    settled: boolean('settled').notNull().default(false),
    /** Delivery failures in a row, the last one, and when to try again (Retry-After, backoff). */
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: tz('next_attempt_at'),
    /** The process delivering right now (a lease, so two processes never post twice). */
    leaseOwner: text('lease_owner'),
    leaseUntil: tz('lease_until'),
    /** When the message was last posted or updated (one update per second at most). */
    lastUpdateAt: tz('last_update_at'),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('slack_messages_unsettled').on(t.runId).where(sql`${t.settled} = false`)],
);

/**
 * Slack requests already acted on, by a key unique per invocation (the
 * trigger_id): a retried or duplicated delivery is answered without acting twice.
 */
export const slackRequests = pgTable(
  'slack_requests',
  {
    key: text('key').primaryKey(),
    kind: text('kind').notNull(),
    runId: text('run_id'),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [index('slack_requests_created').on(t.createdAt)],
);

/**
 * Who was told that a run waits for a person, once per step (the run's status
 * and plan): `target` is 'thread' for the threaded reply in the run's channel
 * or the user id of a direct message. The primary key makes it once however
 * many processes serve; `sent_at` is claimed (compare-and-set) before sending.
 */
export const slackNotices = pgTable(
  'slack_notices',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** `awaiting_plan_approval:<plan id>` or `awaiting_apply_approval:<plan id>`. */
    step: text('step').notNull(),
    target: text('target').notNull(),
    /** Where the notice was posted (the run's channel, or the DM) and its ts. */
    channel: text('channel'),
    ts: text('ts'),
    /** Claimed by the process sending it; cleared again when sending failed. */
    sentAt: tz('sent_at'),
    /** When to tell once more if the step still waits (the deployment's `remind`), and when it was done. */
    remindAt: tz('remind_at'),
    remindedAt: tz('reminded_at'),
    /** A DM that says who decided and has no buttons any more. */
    closed: boolean('closed').notNull().default(false),
    lastError: text('last_error'),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.step, t.target] }),
    index('slack_notices_open').on(t.runId).where(sql`${t.closed} = false`),
  ],
);

/**
 * People who opened the app's Home tab: while runs change, the Home of those
 * who opened it recently is published again. `due` says it shows something
 * older than the truth; `published_at` keeps publishes per person apart (a
 * compare-and-set claims each publish, so one process publishes it).
 */
export const slackHomes = pgTable(
  'slack_homes',
  {
    userId: text('user_id').primaryKey(),
    openedAt: tz('opened_at').notNull().defaultNow(),
    publishedAt: tz('published_at'),
    due: boolean('due').notNull().default(true),
    lastError: text('last_error'),
  },
  (t) => [index('slack_homes_opened').on(t.openedAt)],
);
