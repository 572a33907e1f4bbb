// Slack user-group membership for the core's approver policy: an approver listed
// as a user group (S…) is resolved with usergroups.users.list, cached briefly.
// Membership fails closed: once the cached list is older than its TTL, an
// answer Slack cannot give (rate limit, outage) refuses the approval rather
// than trusting a list in which a removed member may still appear.

import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { GroupMembership } from '../../core/api/types.ts';
import { Refusal } from '../../core/errors.ts';
import type { Log } from '../log.ts';
import { classifySlackError, slackErrorText } from './client.ts';

const usersListResponse = z.object({ ok: z.literal(true), users: z.array(z.string()) });

export type SlackGroupsOptions = {
  readonly client: WebClient;
  readonly log: Log;
  /** How long a group's member list is trusted (default 60s); never longer. */
  readonly ttlMs?: number;
  readonly now?: () => number;
};

type Entry = { readonly members: ReadonlySet<string>; readonly at: number };

export class GroupLookupError extends Error {
  override readonly name = 'GroupLookupError';
}

export function createSlackGroups(options: SlackGroupsOptions): GroupMembership & {
  clear(): void;
} {
  const ttl = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Entry>>();

  const fetchGroup = (groupId: string): Promise<Entry> => {
    const running = inflight.get(groupId);
    if (running) return running;
    const promise = (async () => {
      const raw: unknown = await options.client.usergroups.users.list({ usergroup: groupId });
      const parsed = usersListResponse.safeParse(raw);
      if (!parsed.success) throw new GroupLookupError(`unexpected answer for ${groupId}`);
      const entry = { members: new Set(parsed.data.users), at: now() };
      cache.set(groupId, entry);
      return entry;
    })().finally(() => inflight.delete(groupId));
    inflight.set(groupId, promise);
    return promise;
  };

  return {
    async isMember(userId, groupId) {
      const cached = cache.get(groupId);
      if (cached && now() - cached.at < ttl) return cached.members.has(userId);
      try {
        return (await fetchGroup(groupId)).members.has(userId);
      } catch (error) {
        const failure = classifySlackError(error);
        if (failure.kind !== 'unavailable' && failure.kind !== 'rate_limited') {
          // no_such_subteam, missing_scope…: the group has no members we can see.
          options.log.warn('user group lookup refused', {
            groupId,
            error: slackErrorText(failure),
          });
          if (failure.kind === 'auth') {
            throw new GroupLookupError(
              `could not check membership of user group ${groupId}: ${slackErrorText(failure)} (the app needs the usergroups:read scope)`,
            );
          }
          return false;
        }
        options.log.warn('user group lookup failed: membership not confirmed', {
          groupId,
          error: slackErrorText(failure),
        });
        throw new Refusal(
          'membership_unconfirmed',
          `Slack could not confirm that you are a member of user group ${groupId} (${slackErrorText(failure)}), so nothing was changed: try again in a moment`,
          { groupId },
        );
      }
    },
    clear() {
      cache.clear();
    },
  };
}
