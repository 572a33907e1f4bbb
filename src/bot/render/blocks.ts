// A minimal, typed subset of Slack's Block Kit: the blocks and elements the bot
// renders. Plain data (no SDK import) so the renderer stays pure and testable;
// the shapes are exactly what chat.postMessage / chat.update accept as `blocks`.

export type PlainText = {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji?: boolean;
};
export type Mrkdwn = {
  readonly type: 'mrkdwn';
  readonly text: string;
  readonly verbatim?: boolean;
};
export type TextObject = PlainText | Mrkdwn;

export type ButtonStyle = 'primary' | 'danger';

export type ConfirmDialog = {
  readonly title: PlainText;
  readonly text: TextObject;
  readonly confirm: PlainText;
  readonly deny: PlainText;
  readonly style?: ButtonStyle;
};

export type ButtonElement = {
  readonly type: 'button';
  readonly text: PlainText;
  readonly action_id: string;
  readonly value?: string;
  readonly url?: string;
  readonly style?: ButtonStyle;
  readonly confirm?: ConfirmDialog;
};

/** A "⋯" menu of a few more actions; each option's value names the action and the run. */
export type OverflowElement = {
  readonly type: 'overflow';
  readonly action_id: string;
  readonly options: readonly { readonly text: PlainText; readonly value: string }[];
};

export type HeaderBlock = {
  readonly type: 'header';
  readonly block_id?: string;
  readonly text: PlainText;
};
export type SectionBlock = {
  readonly type: 'section';
  readonly block_id?: string;
  readonly text?: TextObject;
  readonly fields?: readonly TextObject[];
  readonly accessory?: ButtonElement;
};
export type ContextBlock = {
  readonly type: 'context';
  readonly block_id?: string;
  readonly elements: readonly TextObject[];
};
export type ActionsBlock = {
  readonly type: 'actions';
  readonly block_id?: string;
  readonly elements: readonly (ButtonElement | OverflowElement)[];
};
export type DividerBlock = { readonly type: 'divider'; readonly block_id?: string };

export type Block = HeaderBlock | SectionBlock | ContextBlock | ActionsBlock | DividerBlock;

/** A message ready for chat.postMessage / chat.update: `text` is the notification fallback. */
export type RenderedMessage = { readonly text: string; readonly blocks: Block[] };

export function plainText(text: string): PlainText {
  return { type: 'plain_text', text, emoji: true };
}

export function mrkdwn(text: string): Mrkdwn {
  return { type: 'mrkdwn', text };
}
