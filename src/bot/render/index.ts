// All Slack message rendering: pure functions from the core's views to Block Kit.

export * from './actions.ts';
export * from './blocks.ts';
export * from './format.ts';
export * from './help.ts';
export * from './limits.ts';
export * from './plan-thread.ts';
export * from './replies.ts';
export * from './run-message.ts';
