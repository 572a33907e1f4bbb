// Slack's limits for views (modals and the App Home tab; see the spec's
// slack-views.md) as data, and a validator listing every violation. Blocks are
// checked with the message validator (at the views' 100 blocks); input blocks
// and the form elements inside them are checked here. Takes `unknown` so the
// fake Slack server checks whatever a client sends with the renderer's rules.

import { validateBlocks } from './limits.ts';

export const VIEW_LIMITS = {
  blocks: 100,
  /** Modal title, submit and close. */
  modalText: 24,
  privateMetadata: 3000,
  id: 255,
  label: 2000,
  hint: 2000,
  plainTextInputMaxLength: 3000,
  selectOptions: 100,
  optionText: 75,
  optionValue: 150,
  choiceOptions: 10,
  overflowOptions: 5,
  /** views.push: at most this many views in a modal's stack. */
  stack: 3,
} as const;

type Rec = Record<string, unknown>;

const isRecord = (value: unknown): value is Rec =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function plainText(out: string[], where: string, value: unknown, max: number): void {
  if (!isRecord(value) || value.type !== 'plain_text' || typeof value.text !== 'string') {
    out.push(`${where}: expected a plain_text object`);
    return;
  }
  if (value.text.length < 1) out.push(`${where}: text must not be empty`);
  if (value.text.length > max)
    out.push(`${where}: text is ${value.text.length} characters, at most ${max}`);
}

function id(out: string[], where: string, value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length < 1 || value.length > VIEW_LIMITS.id)
    out.push(`${where}: ${name} must be a string of 1 to ${VIEW_LIMITS.id} characters`);
}

function options(out: string[], where: string, value: unknown, max: number): Rec[] {
  if (!Array.isArray(value)) {
    out.push(`${where}: options must be an array`);
    return [];
  }
  if (value.length < 1) out.push(`${where}: options must not be empty`);
  if (value.length > max) out.push(`${where}: ${value.length} options, at most ${max}`);
  const found: Rec[] = [];
  value.forEach((option: unknown, i) => {
    const at = `${where}.options[${i}]`;
    if (!isRecord(option)) {
      out.push(`${at}: expected an option object`);
      return;
    }
    if (!isRecord(option.text) || typeof option.text.text !== 'string') {
      out.push(`${at}.text: expected a text object`);
    } else if (option.text.text.length < 1 || option.text.text.length > VIEW_LIMITS.optionText) {
      out.push(
        `${at}.text: text is ${option.text.text.length} characters, 1 to ${VIEW_LIMITS.optionText}`,
      );
    }
    if (
      typeof option.value !== 'string' ||
      option.value.length < 1 ||
      option.value.length > VIEW_LIMITS.optionValue
    ) {
      out.push(`${at}.value: must be a string of 1 to ${VIEW_LIMITS.optionValue} characters`);
    }
    found.push(option);
  });
  return found;
}

const sameOption = (a: unknown, list: readonly Rec[]) =>
  isRecord(a) && list.some((o) => o.value === a.value);

/** A form element's own limits (plain_text_input, number_input, selects, choices, overflow). */
function element(out: string[], where: string, el: unknown): void {
  if (!isRecord(el)) return;
  id(out, where, el.action_id, 'action_id');
  switch (el.type) {
    case 'plain_text_input': {
      const max = el.max_length;
      if (max !== undefined) {
        if (typeof max !== 'number' || max < 1 || max > VIEW_LIMITS.plainTextInputMaxLength)
          out.push(`${where}: max_length must be 1 to ${VIEW_LIMITS.plainTextInputMaxLength}`);
      }
      const limit = typeof max === 'number' ? max : VIEW_LIMITS.plainTextInputMaxLength;
      if (el.initial_value !== undefined) {
        if (typeof el.initial_value !== 'string') out.push(`${where}: initial_value must be text`);
        else if (el.initial_value.length > limit)
          out.push(
            `${where}: initial_value is ${el.initial_value.length} characters, at most ${limit}`,
          );
      }
      if (el.placeholder !== undefined) plainText(out, `${where}.placeholder`, el.placeholder, 150);
      return;
    }
    case 'number_input': {
      if (typeof el.is_decimal_allowed !== 'boolean')
        out.push(`${where}: number_input needs is_decimal_allowed (true or false)`);
      for (const key of ['min_value', 'max_value', 'initial_value'] as const) {
        const v = el[key];
        if (v === undefined) continue;
        if (typeof v !== 'string' || !Number.isFinite(Number(v)))
          out.push(`${where}: ${key} must be a number written as a string`);
      }
      return;
    }
    case 'static_select': {
      if (el.option_groups !== undefined) {
        if (!Array.isArray(el.option_groups) || el.option_groups.length > VIEW_LIMITS.selectOptions)
          out.push(`${where}: at most ${VIEW_LIMITS.selectOptions} option groups`);
        return;
      }
      const list = options(out, where, el.options, VIEW_LIMITS.selectOptions);
      if (el.initial_option !== undefined && !sameOption(el.initial_option, list))
        out.push(`${where}: initial_option is not one of the options`);
      return;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const list = options(out, where, el.options, VIEW_LIMITS.choiceOptions);
      const initial = el.type === 'checkboxes' ? el.initial_options : el.initial_option;
      const chosen = Array.isArray(initial) ? initial : initial === undefined ? [] : [initial];
      for (const c of chosen) {
        if (!sameOption(c, list)) out.push(`${where}: an initial option is not one of the options`);
      }
      return;
    }
    case 'overflow':
      options(out, where, el.options, VIEW_LIMITS.overflowOptions);
      return;
    default:
      return;
  }
}

/** Every violation of Slack's view limits in `view` (empty when Slack would accept it). */
export function validateView(view: unknown, expected?: 'modal' | 'home'): string[] {
  const out: string[] = [];
  if (!isRecord(view)) return ['view: expected a view object'];
  if (view.type !== 'modal' && view.type !== 'home') {
    return [`view: type must be modal or home, got ${JSON.stringify(view.type)}`];
  }
  if (expected !== undefined && view.type !== expected) {
    out.push(`view: type must be ${expected} here, got ${view.type}`);
  }
  const blocks = Array.isArray(view.blocks) ? view.blocks : [];
  if (!Array.isArray(view.blocks)) out.push('view.blocks: blocks must be an array');
  const hasInput = blocks.some((b: unknown) => isRecord(b) && b.type === 'input');
  if (view.type === 'modal') {
    plainText(out, 'view.title', view.title, VIEW_LIMITS.modalText);
    if (view.submit !== undefined)
      plainText(out, 'view.submit', view.submit, VIEW_LIMITS.modalText);
    else if (hasInput) out.push('view.submit: a modal with an input block needs submit');
    if (view.close !== undefined) plainText(out, 'view.close', view.close, VIEW_LIMITS.modalText);
  } else if (hasInput) {
    out.push('view.blocks: the Home tab takes no input blocks');
  }
  if (view.private_metadata !== undefined) {
    if (typeof view.private_metadata !== 'string')
      out.push('view.private_metadata: must be a string');
    else if (view.private_metadata.length > VIEW_LIMITS.privateMetadata)
      out.push(
        `view.private_metadata: ${view.private_metadata.length} characters, at most ${VIEW_LIMITS.privateMetadata}`,
      );
  }
  id(out, 'view', view.callback_id, 'callback_id');
  id(out, 'view', view.external_id, 'external_id');
  out.push(
    ...validateBlocks(blocks, undefined, { maxBlocks: VIEW_LIMITS.blocks, totalText: null }).map(
      (v) => `view.${v}`,
    ),
  );
  blocks.forEach((block: unknown, i) => {
    if (!isRecord(block)) return;
    const where = `view.blocks[${i}](${String(block.type)})`;
    if (block.type === 'input') {
      plainText(out, `${where}.label`, block.label, VIEW_LIMITS.label);
      if (block.hint !== undefined) plainText(out, `${where}.hint`, block.hint, VIEW_LIMITS.hint);
      if (block.optional !== undefined && typeof block.optional !== 'boolean')
        out.push(`${where}: optional must be true or false`);
      if (!isRecord(block.element)) out.push(`${where}: an input block needs an element`);
      else element(out, `${where}.element`, block.element);
    } else if (block.type === 'actions' && Array.isArray(block.elements)) {
      block.elements.forEach((el: unknown, j) => {
        element(out, `${where}.elements[${j}]`, el);
      });
    } else if (block.type === 'section' && block.accessory !== undefined) {
      element(out, `${where}.accessory`, block.accessory);
    }
  });
  return out;
}
