// Slack's Block Kit limits (see the spec README) as data, a validator that lists
// every violation, and the string helpers that keep rendered text inside them.
// The validator takes `unknown` so the fake Slack server can check whatever a
// client posts with the same rules the renderer is tested against.

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  /** Block Kit's general maximum for a text object (context elements). */
  textObject: 3000,
  actionsElements: 25,
  blockId: 255,
  actionId: 255,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** All text in one message's blocks; past this Slack answers msg_blocks_too_long. */
  totalText: 12_000,
  /** Top-level `text` is truncated (not refused) past this. */
  topLevelText: 40_000,
} as const;

const ELLIPSIS = '…';

// ---------------------------------------------------------------------------
// Text helpers

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

let segmenter: Intl.Segmenter | undefined;

/** The largest index <= cut that does not split a surrogate pair or a grapheme (emoji sequence). */
function safeCut(text: string, cut: number): number {
  if (cut <= 0) return 0;
  if (cut >= text.length) return text.length;
  let at = cut;
  const code = text.charCodeAt(at - 1);
  if (code >= 0xd800 && code <= 0xdbff) at -= 1;
  // Step back to a grapheme boundary (ZWJ sequences, flags, skin tones), looking
  // only at a small window so a 100 kB string costs nothing.
  const from = Math.max(0, at - 64);
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let boundary = from;
  for (const { index } of segmenter.segment(text.slice(from, Math.min(text.length, at + 64)))) {
    const absolute = from + index;
    if (absolute > at) break;
    boundary = absolute;
  }
  // A grapheme longer than the window: fall back to the surrogate-safe cut.
  return boundary === from && from > 0 ? at : boundary;
}

/** The longest prefix of at most `max` code units that ends on a character boundary. */
export function safePrefix(text: string, max: number): string {
  return text.slice(0, safeCut(text, max));
}

/**
 * Cuts `text` to at most `max` UTF-16 code units, ending with "…" when cut.
 * Never splits a surrogate pair (nor, as far as it can see, an emoji sequence).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  if (max === 1) return ELLIPSIS;
  return text.slice(0, safeCut(text, max - 1)) + ELLIPSIS;
}

/** Escapes for mrkdwn, then cuts to `max` without leaving half an `&amp;` entity. */
export function truncateMrkdwn(raw: string, max: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= max) return escaped;
  if (max <= 0) return '';
  let body = escaped.slice(0, safeCut(escaped, max - 1));
  const amp = body.lastIndexOf('&');
  if (amp >= 0 && amp >= body.length - 4 && !body.slice(amp).includes(';'))
    body = body.slice(0, amp);
  return body + ELLIPSIS;
}

// ---------------------------------------------------------------------------
// Validation of unknown input

type Rec = Record<string, unknown>;

function isRecord(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BLOCK_TYPES_CHECKED = new Set(['header', 'section', 'context', 'actions', 'divider']);
/** Real Block Kit blocks outside the subset the bot renders: only block_id is checked. */
const OTHER_BLOCK_TYPES = new Set([
  'image',
  'rich_text',
  'input',
  'file',
  'video',
  'markdown',
  'call',
  'rich_text_section',
]);
const INTERACTIVE_ELEMENTS = new Set([
  'button',
  'number_input',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'timepicker',
  'overflow',
  'radio_buttons',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'plain_text_input',
  'rich_text_input',
  'workflow_button',
  'image',
]);

class Checker {
  readonly violations: string[] = [];

  add(where: string, problem: string): void {
    this.violations.push(`${where}: ${problem}`);
  }

  /** A text object of an allowed type with 1..max characters. */
  textObject(
    where: string,
    value: unknown,
    max: number,
    types: readonly ('plain_text' | 'mrkdwn')[] = ['plain_text', 'mrkdwn'],
  ): void {
    if (!isRecord(value)) {
      this.add(where, 'expected a text object');
      return;
    }
    const type = value.type;
    if (typeof type !== 'string' || !(types as readonly string[]).includes(type)) {
      this.add(where, `text type must be ${types.join(' or ')}, got ${JSON.stringify(type)}`);
    }
    const text = value.text;
    if (typeof text !== 'string') {
      this.add(where, 'text must be a string');
      return;
    }
    if (text.length < 1) this.add(where, 'text must not be empty');
    if (text.length > max) this.add(where, `text is ${text.length} characters, at most ${max}`);
  }

  optionalId(where: string, value: unknown, name: string, max: number): void {
    if (value === undefined) return;
    if (typeof value !== 'string') {
      this.add(where, `${name} must be a string`);
      return;
    }
    if (value.length < 1) this.add(where, `${name} must not be empty`);
    if (value.length > max)
      this.add(where, `${name} is ${value.length} characters, at most ${max}`);
  }

  style(where: string, value: unknown): void {
    if (value !== undefined && value !== 'primary' && value !== 'danger') {
      this.add(where, `style must be primary or danger, got ${JSON.stringify(value)}`);
    }
  }

  confirm(where: string, value: unknown): void {
    if (!isRecord(value)) {
      this.add(where, 'confirm must be an object');
      return;
    }
    this.textObject(`${where}.title`, value.title, LIMITS.confirmTitle, ['plain_text']);
    this.textObject(`${where}.text`, value.text, LIMITS.confirmText);
    this.textObject(`${where}.confirm`, value.confirm, LIMITS.confirmButton, ['plain_text']);
    this.textObject(`${where}.deny`, value.deny, LIMITS.confirmButton, ['plain_text']);
    this.style(where, value.style);
  }

  element(where: string, value: unknown, actionIds: Set<string> | null): void {
    if (!isRecord(value)) {
      this.add(where, 'expected an element object');
      return;
    }
    const type = value.type;
    if (typeof type !== 'string' || !INTERACTIVE_ELEMENTS.has(type)) {
      this.add(where, `unknown element type ${JSON.stringify(type)}`);
      return;
    }
    this.optionalId(where, value.action_id, 'action_id', LIMITS.actionId);
    if (typeof value.action_id === 'string' && actionIds !== null) {
      if (actionIds.has(value.action_id)) {
        this.add(where, `action_id ${JSON.stringify(value.action_id)} is used twice in this block`);
      }
      actionIds.add(value.action_id);
    }
    if (value.confirm !== undefined) this.confirm(`${where}.confirm`, value.confirm);
    if (type !== 'button') return;
    this.textObject(`${where}.text`, value.text, LIMITS.buttonText, ['plain_text']);
    if (value.value !== undefined) {
      if (typeof value.value !== 'string') this.add(where, 'button value must be a string');
      else if (value.value.length > LIMITS.buttonValue) {
        this.add(
          where,
          `button value is ${value.value.length} characters, at most ${LIMITS.buttonValue}`,
        );
      }
    }
    if (value.url !== undefined) {
      if (typeof value.url !== 'string') this.add(where, 'button url must be a string');
      else if (value.url.length > LIMITS.buttonUrl) {
        this.add(
          where,
          `button url is ${value.url.length} characters, at most ${LIMITS.buttonUrl}`,
        );
      }
    }
    this.style(where, value.style);
  }

  block(where: string, block: Rec): void {
    const type = block.type as string;
    switch (type) {
      case 'header':
        this.textObject(`${where}.text`, block.text, LIMITS.headerText, ['plain_text']);
        return;
      case 'section': {
        if (block.text === undefined && block.fields === undefined) {
          this.add(where, 'a section needs text or fields');
        }
        if (block.text !== undefined) {
          this.textObject(`${where}.text`, block.text, LIMITS.sectionText);
        }
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields)) {
            this.add(`${where}.fields`, 'fields must be an array');
          } else {
            if (block.fields.length < 1) this.add(`${where}.fields`, 'fields must not be empty');
            if (block.fields.length > LIMITS.fields) {
              this.add(
                `${where}.fields`,
                `${block.fields.length} fields, at most ${LIMITS.fields}`,
              );
            }
            block.fields.forEach((field: unknown, i) => {
              this.textObject(`${where}.fields[${i}]`, field, LIMITS.fieldText);
            });
          }
        }
        if (block.accessory !== undefined) {
          this.element(`${where}.accessory`, block.accessory, new Set());
        }
        return;
      }
      case 'context': {
        const elements = block.elements;
        if (!Array.isArray(elements)) {
          this.add(`${where}.elements`, 'elements must be an array');
          return;
        }
        if (elements.length < 1) this.add(`${where}.elements`, 'elements must not be empty');
        if (elements.length > LIMITS.contextElements) {
          this.add(
            `${where}.elements`,
            `${elements.length} elements, at most ${LIMITS.contextElements}`,
          );
        }
        elements.forEach((element: unknown, i) => {
          const at = `${where}.elements[${i}]`;
          if (isRecord(element) && element.type === 'image') {
            if (typeof element.alt_text !== 'string') this.add(at, 'image needs alt_text');
            return;
          }
          this.textObject(at, element, LIMITS.textObject);
        });
        return;
      }
      case 'actions': {
        const elements = block.elements;
        if (!Array.isArray(elements)) {
          this.add(`${where}.elements`, 'elements must be an array');
          return;
        }
        if (elements.length < 1) this.add(`${where}.elements`, 'elements must not be empty');
        if (elements.length > LIMITS.actionsElements) {
          this.add(
            `${where}.elements`,
            `${elements.length} elements, at most ${LIMITS.actionsElements}`,
          );
        }
        const actionIds = new Set<string>();
        elements.forEach((element: unknown, i) => {
          this.element(`${where}.elements[${i}]`, element, actionIds);
        });
        return;
      }
      default:
        return;
    }
  }
}

/** Every string that counts as message text in the blocks (text objects, recursively). */
function collectText(value: unknown, out: { total: number }): void {
  if (Array.isArray(value)) {
    for (const item of value) collectText(item, out);
    return;
  }
  if (!isRecord(value)) return;
  if ((value.type === 'plain_text' || value.type === 'mrkdwn') && typeof value.text === 'string') {
    out.total += value.text.length;
    return;
  }
  if (value.type === 'text' && typeof value.text === 'string') {
    // rich_text elements
    out.total += value.text.length;
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === 'value' || key === 'url' || key === 'action_id' || key === 'block_id') continue;
    collectText(child, out);
  }
}

/** Total length of all text objects in the blocks (what msg_blocks_too_long measures). */
export function blocksTextLength(blocks: unknown): number {
  const out = { total: 0 };
  collectText(blocks, out);
  return out.total;
}

/**
 * Every violation of Slack's Block Kit limits in `blocks` (empty when Slack
 * would accept them). `text` is the message's top-level fallback text, checked
 * against its own limit when given. Accepts unknown input (e.g. a parsed
 * request body) as well as `Block[]`.
 */
export function validateBlocks(
  blocks: unknown,
  text?: string,
  /** Views (modals, Home) allow more blocks and have no message-wide text limit. */
  surface: { readonly maxBlocks: number; readonly totalText: number | null } = {
    maxBlocks: LIMITS.blocks,
    totalText: LIMITS.totalText,
  },
): string[] {
  const check = new Checker();
  if (text !== undefined && text.length > LIMITS.topLevelText) {
    check.add(
      'text',
      `top-level text is ${text.length} characters; Slack truncates past ${LIMITS.topLevelText}`,
    );
  }
  if (blocks === undefined || blocks === null) return check.violations;
  if (!Array.isArray(blocks)) {
    check.add('blocks', 'blocks must be an array');
    return check.violations;
  }
  if (blocks.length > surface.maxBlocks) {
    check.add('blocks', `${blocks.length} blocks, at most ${surface.maxBlocks}`);
  }
  const blockIds = new Set<string>();
  blocks.forEach((block: unknown, i) => {
    const where = `blocks[${i}]`;
    if (!isRecord(block) || typeof block.type !== 'string') {
      check.add(where, 'expected a block object with a type');
      return;
    }
    const at = `${where}(${block.type})`;
    if (!BLOCK_TYPES_CHECKED.has(block.type) && !OTHER_BLOCK_TYPES.has(block.type)) {
      check.add(at, `unknown block type ${JSON.stringify(block.type)}`);
      return;
    }
    check.optionalId(at, block.block_id, 'block_id', LIMITS.blockId);
    if (typeof block.block_id === 'string') {
      if (blockIds.has(block.block_id)) {
        check.add(at, `block_id ${JSON.stringify(block.block_id)} is used twice in this message`);
      }
      blockIds.add(block.block_id);
    }
    check.block(at, block);
  });
  const total = blocksTextLength(blocks);
  if (surface.totalText !== null && total > surface.totalText) {
    check.add(
      'blocks',
      `all text in the blocks is ${total} characters, at most ${LIMITS.totalText} (msg_blocks_too_long)`,
    );
  }
  return check.violations;
}
