import { Alert, Button, Group, Modal, Stack, type MantineColor, type MantineSize } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import type { FormEvent, ReactNode } from 'react';

/**
 * What a change did, as a notice the user can dismiss (the close button needs a name: axe checks it).
 * @example notifyDone(`Coupon ${coupon.code} disabled`)
 */
export function notifyDone(message: string, color: MantineColor = 'green'): void {
  notifications.show({ closeButtonProps: { 'aria-label': 'Dismiss' }, color, message });
}

/** A failed change's message, announced to screen readers; nothing while there is no error. */
export function ErrorAlert({ error }: { error: Error | null | undefined }) {
  if (!error) return null;
  return (
    <Alert color="red" role="alert">
      {error.message}
    </Alert>
  );
}

interface FormDialogProps {
  title: string;
  onClose: () => void;
  /** Called on submit (Enter or the submit button), the browser's own submit prevented. */
  onSubmit: () => void;
  submitLabel: string;
  /** The mutation the dialog runs: its pending state and its error. */
  pending: boolean;
  error?: Error | null;
  cancelLabel?: string;
  submitColor?: MantineColor;
  submitDisabled?: boolean;
  /** The dialog checks its fields itself (errors under the fields instead of the browser's bubbles). */
  noValidate?: boolean;
  /** Focus Cancel first: for a dialog that only confirms something destructive. */
  focusCancel?: boolean;
  size?: MantineSize;
  children: ReactNode;
}

/**
 * A dialog whose form runs one change: its fields, the change's error, then Cancel and the submit
 * button. A dialog with more than one step (bulk, import, give reward) builds its own Modal.
 */
export function FormDialog(p: FormDialogProps) {
  const submit = (e: FormEvent) => {
    e.preventDefault();
    p.onSubmit();
  };
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened onClose={p.onClose} title={p.title} centered size={p.size}>
      <form onSubmit={submit} noValidate={p.noValidate}>
        <Stack>
          {p.children}
          <ErrorAlert error={p.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={p.onClose} data-autofocus={p.focusCancel || undefined}>
              {p.cancelLabel ?? 'Cancel'}
            </Button>
            <Button type="submit" color={p.submitColor} loading={p.pending} disabled={p.submitDisabled}>
              {p.submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
