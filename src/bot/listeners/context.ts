// What the listeners share: the core, the outbox, the Web API client, logs.

import type { WebClient } from '@slack/web-api';
import type { Log } from '../log.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { BotPort } from '../port.ts';

export type BotContext = {
  readonly core: BotPort;
  readonly outbox: Outbox;
  readonly client: WebClient;
  readonly log: Log;
  /** The slash command as registered, e.g. "/deploy". */
  readonly command: string;
};
