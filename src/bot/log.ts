// The bot's logger is the process logger (src/core/logs/logger.ts: pino, JSON
// lines or readable ones, LOG_LEVEL); this module keeps its names for the bot
// and adapts it to Bolt's and the Web API client's logger interface.

import type { Logger as BoltLogger } from '@slack/bolt';
import { LogLevel } from '@slack/bolt';
import type { Log } from '../core/logs/logger.ts';

export {
  createLog,
  type Fields,
  type Level,
  LOG_LEVELS,
  type Log,
  type LogOptions,
  type LogRecord,
  silentLog,
} from '../core/logs/logger.ts';

function joinArgs(args: unknown[]): string {
  return args
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a)))
    .join(' ');
}

/** Bolt's and the Web API client's logger interface over ours (their chatter at debug). */
export function boltLogger(log: Log): BoltLogger {
  let level: LogLevel = LogLevel.WARN;
  const component = log.child({ component: 'slack-sdk' });
  return {
    debug: (...args: unknown[]) => {
      // The Web API client's debug lines with request bodies, headers and results are never logged.
      if (typeof args[0] === 'string' && /^http request (body|headers|result)/.test(args[0]))
        return;
      component.debug(joinArgs(args));
    },
    info: (...args: unknown[]) => component.debug(joinArgs(args)),
    warn: (...args: unknown[]) => component.warn(joinArgs(args)),
    error: (...args: unknown[]) => component.error(joinArgs(args)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
