// What the listeners share: the core, the outbox, the Web API client, logs.

import type { WebClient } from '@slack/web-api';
import type { DeployCore } from '../../core/api/core.ts';
import type { Log } from '../log.ts';
import type { Outbox } from '../outbox/outbox.ts';

export type BotContext = {
  readonly core: DeployCore;
  readonly outbox: Outbox;
  readonly client: WebClient;
  readonly log: Log;
  /** The slash command as registered, e.g. "/deploy". */
  readonly command: string;
};
