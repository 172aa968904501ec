import { Alert, Button, Checkbox, Group, Modal, NumberInput, SegmentedControl, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiFailure, call, type Customer } from './api/client';
import { fmtNumber } from './format';

/** Adjust Points: add/deduct or reset, with a live preview; Enter submits (a form), Escape closes (Modal). */
export function AdjustDialog({ customer, opened, onClose }: { customer: Customer; opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [mode, setMode] = useState<'adjust' | 'reset'>('adjust');
  const [points, setPoints] = useState<number | string>('');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState('');
  const [affectsTier, setAffectsTier] = useState(true);
  const [notify, setNotify] = useState(false);
  const [tried, setTried] = useState(false);
  const amount = typeof points === 'number' ? points : Number.parseInt(points, 10);
  const result = mode === 'reset' ? 0 : customer.balance + (Number.isFinite(amount) ? amount : 0);
  const reasonError = tried && reason.trim().length < 3 ? 'Give a reason of at least 3 characters' : null;
  const pointsError = tried && mode === 'adjust' && (!Number.isInteger(amount) || amount === 0) ? 'Enter a whole number other than 0 (negative deducts)' : null;
  const save = useMutation({
    mutationFn: () =>
      mode === 'reset'
        ? call(api.POST('/v1/customers/{id}/reset', { params: { path: { id: customer.id } }, body: { reason, ...(message ? { customerMessage: message } : {}) } }))
        : call(
            api.POST('/v1/customers/{id}/adjustments', {
              params: { path: { id: customer.id } },
              body: { points: amount, reason, affectsTier, notifyCustomer: notify, expectedBalance: customer.balance, ...(message ? { customerMessage: message } : {}) },
            }),
          ),
    onSuccess: (r) => {
      qc.setQueryData(['customer', customer.id], r.customer);
      qc.invalidateQueries({ queryKey: ['customer', customer.id] });
      qc.invalidateQueries({ queryKey: ['history', customer.id] });
      qc.invalidateQueries({ queryKey: ['customers'] });
      notifications.show({ closeButtonProps: { 'aria-label': 'Dismiss' }, color: 'green', message: `Balance is now ${fmtNumber(r.customer.balance)}` });
      setPoints('');
      setReason('');
      setMessage('');
      setTried(false);
      onClose();
    },
    onError: (e) => {
      if (e instanceof ApiFailure && e.code === 'balance_changed') qc.invalidateQueries({ queryKey: ['customer', customer.id] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (reason.trim().length < 3 || (mode === 'adjust' && (!Number.isInteger(amount) || amount === 0))) return;
    save.mutate();
  };
  const err = save.error instanceof ApiFailure ? save.error : undefined;
  const errorText =
    err?.code === 'insufficient_points'
      ? `Not enough points: ${fmtNumber(customer.balance)} available, so at most ${fmtNumber(customer.balance)} can be deducted.`
      : err?.code === 'balance_changed'
        ? 'The balance changed while you were editing (someone else adjusted it). Check the new balance and submit again.'
        : save.error?.message;
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened={opened} onClose={onClose} title="Adjust points" centered>
      <form onSubmit={submit} noValidate>
        <Stack>
          <SegmentedControl
            aria-label="Kind of change"
            value={mode}
            onChange={(v) => setMode(v as 'adjust' | 'reset')}
            data={[
              { value: 'adjust', label: 'Balance adjustment' },
              { value: 'reset', label: 'Point reset' },
            ]}
          />
          {mode === 'adjust' && (
            <NumberInput label="Points" description="Negative to deduct" allowDecimal={false} value={points} onChange={setPoints} error={pointsError} data-autofocus />
          )}
          <TextInput label="Reason (internal)" required value={reason} onChange={(e) => setReason(e.currentTarget.value)} error={reasonError} />
          <Textarea label="Customer comment" description="Shown to the customer" value={message} onChange={(e) => setMessage(e.currentTarget.value)} />
          {mode === 'adjust' && <Checkbox label="Affects tier" checked={affectsTier} onChange={(e) => setAffectsTier(e.currentTarget.checked)} />}
          {mode === 'adjust' && <Checkbox label="Notify customer" checked={notify} onChange={(e) => setNotify(e.currentTarget.checked)} />}
          <Text aria-live="polite" data-testid="preview">
            New balance: <strong>{fmtNumber(result)}</strong> (now {fmtNumber(customer.balance)})
          </Text>
          {result < 0 && !save.error && <Text c="red.8">This deduction is larger than the balance.</Text>}
          {errorText && (
            <Alert color="red" role="alert">
              {errorText}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {mode === 'reset' ? 'Reset points' : 'Save adjustment'}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
