import { Alert, Badge, Button, Group, Paper, Progress, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, type Customer } from '../api/client';
import type { Tier } from '../api/loyalty';
import { fmtDate, fmtNumber } from '../format';
import { FormDialog, notifyDone } from '../feedback';

export const useTiers = () => useQuery({ queryKey: ['tiers'], queryFn: () => call(api.GET('/v1/tiers')) });

/** How far lifetime points are on the way to the next tier's threshold (none past the top tier). */
export function tierProgress(lifetime: number, tiers: Tier[]): { next: Tier | null; pct: number; toGo: number } {
  const next = [...tiers].sort((a, b) => a.threshold - b.threshold).find((t) => t.threshold > lifetime) ?? null;
  if (!next) return { next: null, pct: 100, toGo: 0 };
  return { next, pct: Math.floor((Math.max(lifetime, 0) / next.threshold) * 100), toGo: next.threshold - lifetime };
}

/** The tier lifetime points reach: the highest threshold at or below them (the server's rule). */
export function tierFor(lifetime: number, tiers: Tier[]): Tier | null {
  return [...tiers].sort((a, b) => a.threshold - b.threshold).filter((t) => t.threshold <= lifetime).at(-1) ?? null;
}

/** The customer's tier, a manual assignment's badge, the progress of lifetime points to the next tier, and "Change tier". */
export function TierPanel({ customer, canChange }: { customer: Customer; canChange: boolean }) {
  const tiers = useTiers();
  const [changing, setChanging] = useState(false);
  const list = tiers.data?.data ?? [];
  const p = tierProgress(customer.lifetimePoints, list);
  return (
    <Paper withBorder p="sm">
      <Stack gap="xs">
        <Group justify="space-between">
          <Group gap="xs">
            <Text fw={700} data-testid="tier-name">
              {customer.tier?.name ?? 'No tier'}
            </Text>
            {customer.tierManual && (
              <Badge color="grape" variant="outline" title="Assigned by hand: it holds until cleared">
                manual
              </Badge>
            )}
          </Group>
          {canChange && list.length > 0 && (
            <Button size="compact-sm" variant="default" onClick={() => setChanging(true)}>
              Change tier
            </Button>
          )}
        </Group>
        {tiers.isSuccess && list.length === 0 ? (
          <Text size="sm" c="dimmed">
            This store has no tiers yet (Settings → Tiers).
          </Text>
        ) : p.next ? (
          <>
            <Progress value={p.pct} aria-label={`Progress to ${p.next.name}: ${p.pct}%`} />
            <Text size="sm" data-testid="tier-progress">
              {fmtNumber(p.toGo)} lifetime points to {p.next.name} ({fmtNumber(customer.lifetimePoints)} of {fmtNumber(p.next.threshold)})
            </Text>
          </>
        ) : (
          tiers.isSuccess && (
            <Text size="sm" data-testid="tier-progress">
              Lifetime points reach the top tier.
            </Text>
          )
        )}
      </Stack>
      {changing && <ChangeTierDialog customer={customer} tiers={list} onClose={() => setChanging(false)} />}
    </Paper>
  );
}

const CLEAR = 'clear';

function ChangeTierDialog({ customer, tiers, onClose }: { customer: Customer; tiers: Tier[]; onClose: () => void }) {
  const qc = useQueryClient();
  const [choice, setChoice] = useState<string | null>(customer.tierManual ? CLEAR : null);
  const [reason, setReason] = useState('');
  const [tried, setTried] = useState(false);
  const reasonError = tried && reason.trim().length < 3 ? 'Give a reason of at least 3 characters' : null;
  const choiceError = tried && !choice ? 'Pick a tier' : null;
  const change = useMutation({
    mutationFn: () => call(api.PUT('/v1/customers/{id}/tier', { params: { path: { id: customer.id } }, body: { tierId: choice === CLEAR ? null : Number(choice), reason: reason.trim() } })),
    onSuccess: (r) => {
      qc.invalidateQueries({ queryKey: ['customer', customer.id] });
      qc.invalidateQueries({ queryKey: ['tier-history', customer.id] });
      qc.invalidateQueries({ queryKey: ['customers'] });
      notifyDone(`Tier is now ${r.customer.tier?.name ?? 'none'}`);
      onClose();
    },
  });
  const submit = () => {
    setTried(true);
    if (!choice || reason.trim().length < 3) return;
    change.mutate();
  };
  const options = [
    ...[...tiers].sort((a, b) => a.threshold - b.threshold).map((t) => ({ value: String(t.id), label: `${t.name} (from ${fmtNumber(t.threshold)} points)` })),
    ...(customer.tierManual ? [{ value: CLEAR, label: 'Clear the manual tier (back to the tier points reach)' }] : []),
  ];
  return (
    <FormDialog
      title="Change tier"
      onClose={onClose}
      onSubmit={submit}
      noValidate
      pending={change.isPending}
      error={change.error}
      submitLabel={choice === CLEAR ? 'Clear manual tier' : 'Assign tier'}
    >
      <Text size="sm">A tier assigned by hand holds, whatever the points, until it is cleared.</Text>
      <Select label="Tier" required data={options} value={choice} onChange={setChoice} error={choiceError} allowDeselect={false} data-autofocus />
      <TextInput label="Reason" required value={reason} onChange={(e) => setReason(e.currentTarget.value)} error={reasonError} />
    </FormDialog>
  );
}

/** A customer's tier moves, newest first: by points, by hand, or by a tier-table change (its job). */
export function TierHistory({ customerId }: { customerId: number }) {
  const history = useQuery({ queryKey: ['tier-history', customerId], queryFn: () => call(api.GET('/v1/customers/{id}/tier-history', { params: { path: { id: customerId } } })) });
  const rows = history.data?.data ?? [];
  if (history.isError) return <Alert color="red">{history.error.message}</Alert>;
  if (rows.length === 0 && !history.isPending) return <Text c="dimmed">No tier changes yet.</Text>;
  return (
    <Table.ScrollContainer minWidth={600}>
      <Table striped aria-label="Tier history">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Date</Table.Th>
            <Table.Th>From</Table.Th>
            <Table.Th>To</Table.Th>
            <Table.Th>How</Table.Th>
            <Table.Th>Reason</Table.Th>
            <Table.Th>By</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((h) => (
            <Table.Tr key={h.id}>
              <Table.Td>{fmtDate(h.createdAt)}</Table.Td>
              <Table.Td>{h.fromTier?.name ?? 'None'}</Table.Td>
              <Table.Td>{h.toTier?.name ?? 'None'}</Table.Td>
              <Table.Td>{h.manual ? 'by hand' : h.jobId ? `tier table change (job #${h.jobId})` : 'by points'}</Table.Td>
              <Table.Td>{h.reason ?? ''}</Table.Td>
              <Table.Td>{h.actor.name ?? h.actor.type}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
