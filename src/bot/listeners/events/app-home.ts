// `app_home_opened` (Events API, or Socket Mode): the person's Home is
// published at once (ack first; the HTTP front has answered already), and kept
// up to date while runs change (outbox/home.ts).

import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { HomePublisher } from '../../outbox/home.ts';
import type { BotContext } from '../context.ts';

const homeOpenedEvent = z.looseObject({
  type: z.literal('app_home_opened'),
  user: z.string().min(1).max(255),
  tab: z.string().optional(),
});

export function registerAppHome(app: App, ctx: BotContext, home: HomePublisher): void {
  app.event('app_home_opened', async ({ event }) => {
    const parsed = homeOpenedEvent.safeParse(event);
    if (!parsed.success) {
      ctx.log.warn('malformed app_home_opened event');
      return;
    }
    // The Messages tab opens this event too: only the Home tab is ours to draw.
    if (parsed.data.tab !== undefined && parsed.data.tab !== 'home') return;
    try {
      await home.opened(parsed.data.user);
    } catch (error) {
      ctx.log.error('could not publish a Home', { userId: parsed.data.user, error });
    }
  });
}
