import { Alert, Button, Group, List, Modal, NumberInput, SegmentedControl, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from './api/client';
import type { CustomerFilter } from './CustomersPage';
import { fmtNumber, fmtSigned } from './format';
import { navigate } from './router';
import { ErrorAlert } from './feedback';

export type Selection = { customerIds: number[] } | { filter: CustomerFilter } | { all: true };
export const RESET_PHRASE = 'RESET ALL CUSTOMERS';

type Preview = { customers: number; totalPoints: number; rejected: number; tierUps: number; tierDowns: number };

/** Bulk adjustment or reset: the form, then the dry run's review, then the job. */
export function BulkDialog({ selection, onClose }: { selection: Selection; onClose: () => void }) {
  const [type, setType] = useState<'adjust' | 'reset'>('adjust');
  const [points, setPoints] = useState<number | string>('');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState('');
  const [phrase, setPhrase] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const body = () => ({
    selection,
    type,
    reason,
    ...(type === 'adjust' ? { points: Number(points) } : {}),
    ...(message ? { customerMessage: message } : {}),
  });
  const dryRun = useMutation({
    mutationFn: () => call(api.POST('/v1/bulk-adjustments', { body: { ...body(), dryRun: true } })),
    onSuccess: (r) => setPreview((r as { preview: Preview }).preview),
  });
  const apply = useMutation({
    mutationFn: () => call(api.POST('/v1/bulk-adjustments', { body: { ...body(), ...(resetAll ? { confirmation: phrase } : {}) } })),
    onSuccess: (r) => {
      onClose();
      navigate(`/jobs/${(r as { job: { id: number } }).job.id}`);
    },
  });
  const resetAll = type === 'reset' && 'all' in selection;
  const what = 'customerIds' in selection ? `${fmtNumber(selection.customerIds.length)} selected customers` : 'all' in selection ? 'every customer' : 'every customer matching the filter';
  const review = (e: FormEvent) => {
    e.preventDefault();
    dryRun.mutate();
  };
  const applicable = preview ? preview.customers - preview.rejected : 0;
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened onClose={onClose} title={`Bulk change for ${what}`} centered size="lg">
      {!preview ? (
        <form onSubmit={review}>
          <Stack>
            <SegmentedControl
              aria-label="Kind of change"
              value={type}
              onChange={(v) => setType(v as 'adjust' | 'reset')}
              data={[
                { value: 'adjust', label: 'Adjust points' },
                { value: 'reset', label: 'Reset to 0' },
              ]}
            />
            {type === 'adjust' && <NumberInput label="Points per customer" description="Negative to deduct" allowDecimal={false} required value={points} onChange={setPoints} data-autofocus />}
            <TextInput label="Reason (internal)" required minLength={3} value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
            <Textarea label="Customer comment" value={message} onChange={(e) => setMessage(e.currentTarget.value)} />
            <ErrorAlert error={dryRun.error} />
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" loading={dryRun.isPending}>
                Review
              </Button>
            </Group>
          </Stack>
        </form>
      ) : (
        <Stack>
          <Text fw={700}>Review</Text>
          <List aria-label="Dry run">
            <List.Item>Customers in the selection: {fmtNumber(preview.customers)}</List.Item>
            <List.Item>Total points: {fmtSigned(preview.totalPoints)}</List.Item>
            <List.Item>Skipped (balance would go negative): {fmtNumber(preview.rejected)}</List.Item>
            <List.Item>
              Tier moves: {fmtNumber(preview.tierUps)} up, {fmtNumber(preview.tierDowns)} down
            </List.Item>
          </List>
          {type === 'reset' && <Alert color="orange">A reset sets every selected balance to 0. It can be reverted from the job afterwards.</Alert>}
          {resetAll && <TextInput label={`Type ${RESET_PHRASE} to confirm`} value={phrase} onChange={(e) => setPhrase(e.currentTarget.value)} />}
          <ErrorAlert error={apply.error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setPreview(null)}>
              Back
            </Button>
            <Button color={type === 'reset' ? 'red' : undefined} disabled={applicable === 0 || (resetAll && phrase !== RESET_PHRASE)} loading={apply.isPending} onClick={() => apply.mutate()}>
              {type === 'reset' ? `Reset ${fmtNumber(applicable)} customers` : `Apply to ${fmtNumber(applicable)} customers`}
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
