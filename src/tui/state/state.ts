// What the dashboard remembers between keys: the screen, the selection, the
// search, the panes, a dialog and the last message.

import type { Message } from '../components/chrome.ts';
import type { Dialog } from '../components/confirm.ts';

export type Pane = 'detail' | 'log';

export type DashboardState = {
  readonly openRunId: string | null;
  readonly selectedId: string | null;
  readonly selectedIndex: number;
  readonly search: string;
  readonly searching: boolean;
  readonly pane: Pane;
  readonly zoom: boolean;
  readonly detailTop: number;
  readonly hOffset: number;
  readonly help: boolean;
  readonly dialog: Dialog | null;
  readonly message: Message | null;
};

export const INITIAL_STATE: DashboardState = {
  openRunId: null,
  selectedId: null,
  selectedIndex: 0,
  search: '',
  searching: false,
  pane: 'detail',
  zoom: false,
  detailTop: 0,
  hOffset: 0,
  help: false,
  dialog: null,
  message: null,
};
