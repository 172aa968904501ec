import { Alert, Button, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../api/client';
import type { PendingCredit } from '../api/loyalty';
import { fmtDate, fmtNumber } from '../format';
import { FormDialog, notifyDone } from '../feedback';

export const usePending = (customerId: number) =>
  useQuery({ queryKey: ['pending', customerId], queryFn: () => call(api.GET('/v1/customers/{id}/pending', { params: { path: { id: customerId } } })) });

/** Pending credits (not spendable until their date), soonest first, each cancellable with a reason. */
export function PendingCredits({ customerId, canCancel }: { customerId: number; canCancel: boolean }) {
  const pending = usePending(customerId);
  const [cancelling, setCancelling] = useState<PendingCredit | null>(null);
  const rows = pending.data?.data ?? [];
  if (pending.isError) return <Alert color="red">{pending.error.message}</Alert>;
  if (rows.length === 0 && !pending.isPending) return <Text c="dimmed">No pending credits. An adjustment with an “available from” date in the future waits here until then.</Text>;
  return (
    <>
      <Table.ScrollContainer minWidth={560}>
        <Table striped aria-label="Pending credits">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Available from</Table.Th>
              <Table.Th ta="right">Points</Table.Th>
              <Table.Th>Reason</Table.Th>
              <Table.Th>Created</Table.Th>
              {canCancel && (
                <Table.Th>
                  <span className="sr-only">Actions</span>
                </Table.Th>
              )}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((p) => (
              <Table.Tr key={p.transactionId}>
                <Table.Td>{fmtDate(p.availableAt)}</Table.Td>
                <Table.Td ta="right">{fmtNumber(p.points)}</Table.Td>
                <Table.Td>{p.reason ?? ''}</Table.Td>
                <Table.Td>{fmtDate(p.createdAt)}</Table.Td>
                {canCancel && (
                  <Table.Td>
                    <Button size="compact-xs" variant="subtle" color="red" onClick={() => setCancelling(p)} aria-label={`Cancel the pending credit of ${fmtNumber(p.points)} points`}>
                      Cancel
                    </Button>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {cancelling && <CancelPendingDialog customerId={customerId} credit={cancelling} onClose={() => setCancelling(null)} />}
    </>
  );
}

function CancelPendingDialog({ customerId, credit, onClose }: { customerId: number; credit: PendingCredit; onClose: () => void }) {
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const cancel = useMutation({
    mutationFn: () =>
      call(api.POST('/v1/customers/{id}/pending/{transactionId}/cancel', { params: { path: { id: customerId, transactionId: credit.transactionId } }, body: { reason: reason.trim() } })),
    onSuccess: (r) => {
      qc.setQueryData(['customer', customerId], (old: object | undefined) => (old ? { ...old, ...r.customer } : old));
      qc.invalidateQueries({ queryKey: ['customer', customerId] });
      qc.invalidateQueries({ queryKey: ['pending', customerId] });
      qc.invalidateQueries({ queryKey: ['history', customerId] });
      notifyDone(`Pending credit of ${fmtNumber(credit.points)} points cancelled`);
      onClose();
    },
  });
  return (
    <FormDialog
      title={`Cancel the pending credit of ${fmtNumber(credit.points)} points`}
      onClose={onClose}
      onSubmit={() => cancel.mutate()}
      pending={cancel.isPending}
      error={cancel.error}
      cancelLabel="Keep it"
      submitLabel="Cancel credit"
      submitColor="red"
    >
      <Text size="sm">It would have become available on {fmtDate(credit.availableAt)}. Cancelled, it never reaches the balance.</Text>
      <TextInput label="Reason" required minLength={3} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-autofocus />
    </FormDialog>
  );
}
