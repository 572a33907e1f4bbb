// A crash in a component shows this screen, not a stack trace over the table.

import { Box, useInput } from 'ink';
import {
  Component,
  type ErrorInfo,
  createElement as h,
  type ReactElement,
  type ReactNode,
} from 'react';
import { wrap } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { RowLine } from './row.ts';

export function ErrorScreen(props: {
  readonly error: Error;
  readonly width: number;
  readonly height: number;
  readonly theme: Theme;
  readonly onRetry: () => void;
  readonly onQuit: () => void;
}): ReactElement {
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) props.onQuit();
    else if (input === 'r' || key.return) props.onRetry();
  });
  const lines = wrap(
    props.error.message || String(props.error),
    Math.max(10, props.width - 4),
    Math.max(1, props.height - 6),
  );
  return h(
    Box,
    { flexDirection: 'column', width: props.width, height: props.height, paddingX: 1 },
    h(RowLine, {
      row: [
        {
          text: ' deploy-tui hit a problem drawing this screen ',
          inverse: true,
          bold: true,
          color: props.theme.c('danger'),
        },
      ],
      width: props.width - 2,
    }),
    h(RowLine, { row: [], width: props.width - 2 }),
    ...lines.map((l, i) =>
      h(RowLine, {
        key: i,
        row: [{ text: l, color: props.theme.c('danger') }],
        width: props.width - 2,
      }),
    ),
    h(RowLine, { row: [], width: props.width - 2 }),
    h(RowLine, {
      row: [
        { text: ' r ', inverse: true },
        { text: ' try again   ' },
        { text: ' q ', inverse: true },
        { text: ' quit   ' },
        { text: 'DEPLOY_DEBUG=1 writes the stack to stderr on exit', dim: true },
      ],
      width: props.width - 2,
    }),
  );
}

type BoundaryProps = {
  readonly width: number;
  readonly height: number;
  readonly theme: Theme;
  readonly onQuit: () => void;
  readonly onError?: (error: Error, info: ErrorInfo) => void;
  readonly children?: ReactNode;
};

type BoundaryState = { readonly error: Error | null; readonly attempt: number };

export class ErrorBoundary extends Component<BoundaryProps, BoundaryState> {
  override state: BoundaryState = { error: null, attempt: 0 };

  static getDerivedStateFromError(error: unknown): Partial<BoundaryState> {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    this.props.onError?.(error, info);
  }

  retry = (): void => {
    this.setState((s) => ({ error: null, attempt: s.attempt + 1 }));
  };

  override render(): ReactNode {
    if (this.state.error) {
      return h(ErrorScreen, {
        error: this.state.error,
        width: this.props.width,
        height: this.props.height,
        theme: this.props.theme,
        onRetry: this.retry,
        onQuit: this.props.onQuit,
      });
    }
    return h(Box, { key: this.state.attempt, flexDirection: 'column' }, this.props.children);
  }
}
