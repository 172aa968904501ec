import { Alert, Button, Checkbox, Group, Modal, NumberInput, SegmentedControl, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiFailure, call, type Customer } from './api/client';
import { tierFor, useTiers } from './customer/TierPanel';
import { fmtDate, fmtNumber } from './format';
import { notifyDone } from './feedback';

/** A date field's day (yyyy-mm-dd) as the instant it starts in the browser's time zone. */
const startOfDay = (day: string) => (day ? new Date(`${day}T00:00:00`).toISOString() : undefined);
const today = () => new Date().toLocaleDateString('sv-SE');

/** Adjust Points: add/deduct or reset, with a live preview; Enter submits (a form), Escape closes (Modal). */
export function AdjustDialog({ customer, opened, onClose }: { customer: Customer; opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [mode, setMode] = useState<'adjust' | 'reset'>('adjust');
  const [points, setPoints] = useState<number | string>('');
  const [reason, setReason] = useState('');
  // null until edited: the store's default customer message (settings) stands in.
  const [edited, setMessage] = useState<string | null>(null);
  const [availableFrom, setAvailableFrom] = useState('');
  const [expiresOn, setExpiresOn] = useState('');
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => call(api.GET('/v1/settings')), enabled: opened, staleTime: 60_000 });
  const message = edited ?? settings.data?.defaultCustomerMessage ?? '';
  const [affectsTier, setAffectsTier] = useState(true);
  const [notify, setNotify] = useState(false);
  const [tried, setTried] = useState(false);
  const amount = typeof points === 'number' ? points : Number.parseInt(points, 10);
  const availableAt = mode === 'adjust' && amount > 0 ? startOfDay(availableFrom) : undefined;
  const expiresAt = mode === 'adjust' && amount > 0 ? startOfDay(expiresOn) : undefined;
  const pending = availableAt !== undefined && Date.parse(availableAt) > Date.now();
  const result = mode === 'reset' ? 0 : customer.balance + (Number.isFinite(amount) && !pending ? amount : 0);
  const tiers = useTiers().data?.data ?? [];
  // A reset and a pending credit leave lifetime points as they are; a manual tier holds whatever they do.
  const lifetimeAfter = mode === 'adjust' && affectsTier && !pending && Number.isFinite(amount) ? Math.max(0, customer.lifetimePoints + amount) : customer.lifetimePoints;
  const tierAfter = customer.tierManual ? customer.tier : tierFor(lifetimeAfter, tiers);
  const reasonError = tried && reason.trim().length < 3 ? 'Give a reason of at least 3 characters' : null;
  const pointsError = tried && mode === 'adjust' && (!Number.isInteger(amount) || amount === 0) ? 'Enter a whole number other than 0 (negative deducts)' : null;
  const save = useMutation({
    mutationFn: () =>
      mode === 'reset'
        ? call(api.POST('/v1/customers/{id}/reset', { params: { path: { id: customer.id } }, body: { reason, ...(message ? { customerMessage: message } : {}) } }))
        : call(
            api.POST('/v1/customers/{id}/adjustments', {
              params: { path: { id: customer.id } },
              body: {
                points: amount,
                reason,
                affectsTier,
                notifyCustomer: notify,
                expectedBalance: customer.balance,
                ...(message ? { customerMessage: message } : {}),
                ...(availableAt ? { availableAt } : {}),
                ...(expiresAt ? { expiresAt } : {}),
              },
            }),
          ),
    onSuccess: (r) => {
      // The answer's customer has no `expiring` (the single-customer GET's extra): keep it until the refetch.
      qc.setQueryData(['customer', customer.id], (old: object | undefined) => ({ ...old, ...r.customer }));
      qc.invalidateQueries({ queryKey: ['customer', customer.id] });
      qc.invalidateQueries({ queryKey: ['history', customer.id] });
      qc.invalidateQueries({ queryKey: ['pending', customer.id] });
      qc.invalidateQueries({ queryKey: ['customers'] });
      const pendingNote = 'pending' in r && r.pending ? ` (${fmtNumber(r.pending.points)} points pending until ${fmtDate(r.pending.availableAt)})` : '';
      notifyDone(`Balance is now ${fmtNumber(r.customer.balance)}${pendingNote}`);
      setPoints('');
      setReason('');
      setMessage(null);
      setAvailableFrom('');
      setExpiresOn('');
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
          {mode === 'adjust' && !(amount < 0) && (
            <Group grow align="flex-start">
              <TextInput
                label="Available from"
                type="date"
                description="Optional: a later day makes it a pending credit"
                min={today()}
                value={availableFrom}
                onChange={(e) => setAvailableFrom(e.currentTarget.value)}
              />
              <TextInput
                label="Expires on"
                type="date"
                description="Optional: the points lapse as this day starts"
                min={availableFrom || today()}
                value={expiresOn}
                onChange={(e) => setExpiresOn(e.currentTarget.value)}
              />
            </Group>
          )}
          {mode === 'adjust' && <Checkbox label="Affects tier" checked={affectsTier} onChange={(e) => setAffectsTier(e.currentTarget.checked)} />}
          {mode === 'adjust' && <Checkbox label="Notify customer" checked={notify} onChange={(e) => setNotify(e.currentTarget.checked)} />}
          <Text aria-live="polite" data-testid="preview">
            New balance: <strong>{fmtNumber(result)}</strong> (now {fmtNumber(customer.balance)})
            {pending && ` · ${fmtNumber(amount)} points pending until ${fmtDate(availableAt)}`}
            {tiers.length > 0 && (
              <>
                {' · '}tier <strong>{tierAfter?.name ?? 'none'}</strong>
                {(tierAfter?.id ?? null) !== (customer.tier?.id ?? null) && ` (now ${customer.tier?.name ?? 'none'})`}
              </>
            )}
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
