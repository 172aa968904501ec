import { Alert, Anchor, Badge, Button, Group, Loader, Paper, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { AdjustDialog } from './AdjustDialog';
import { api, call, type Customer, type Transaction } from './api/client';
import { canManage, canWriteCustomer } from './api/loyalty';
import { Coupons } from './customer/Coupons';
import { ExpiringPoints } from './customer/ExpiringPoints';
import { GiveRewardDialog } from './customer/GiveRewardDialog';
import { PendingCredits } from './customer/PendingCredits';
import { TierHistory, TierPanel } from './customer/TierPanel';
import { fmtDate, fmtNumber, fmtSigned } from './format';
import { FormDialog } from './feedback';
import { MoreButton } from './MoreButton';

export const customerName = (c: Pick<Customer, 'firstName' | 'lastName' | 'email' | 'externalId' | 'id'>) =>
  [c.firstName, c.lastName].filter(Boolean).join(' ') || c.email || c.externalId || `Customer ${c.id}`;

export function CustomerPage({ id }: { id: number }) {
  const customer = useQuery({ queryKey: ['customer', id], queryFn: () => call(api.GET('/v1/customers/{id}', { params: { path: { id } } })) });
  const history = useInfiniteQuery({
    queryKey: ['history', id],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => call(api.GET('/v1/customers/{id}/transactions', { params: { path: { id }, query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  });
  const [adjusting, adjust] = useDisclosure();
  const [rewarding, setRewarding] = useState(false);
  const [reversing, setReversing] = useState<Transaction | null>(null);
  const role = useQueryClient().getQueryData<{ user: { role: string } }>(['session'])?.user.role;
  const canWrite = canWriteCustomer(role);
  if (customer.isPending) return <Loader aria-label="Loading customer" />;
  if (customer.isError) return <Alert color="red">{customer.error.message}</Alert>;
  const c = customer.data;
  const rows = history.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <div>
          <Title order={1}>{customerName(c)}</Title>
          <Text c="dimmed">{[c.email, c.externalId && `External id ${c.externalId}`].filter(Boolean).join(' · ')}</Text>
        </div>
        {canWrite && (
          <Group gap="xs">
            <Button variant="default" onClick={() => setRewarding(true)}>
              Give reward
            </Button>
            <Button onClick={adjust.open}>Adjust points</Button>
          </Group>
        )}
      </Group>
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Stat label="Balance" value={fmtNumber(c.balance)} testId="balance" />
        <Stat label="Lifetime points" value={fmtNumber(c.lifetimePoints)} />
        <Stat label="Pending" value={fmtNumber(c.pendingPoints)} testId="pending" />
        <Stat label="Expiring in 30 days" value={fmtNumber((c.expiring ?? []).reduce((s, e) => s + e.points, 0))} testId="expiring" />
      </SimpleGrid>
      <TierPanel customer={c} canChange={canManage(role)} />
      <Tabs defaultValue="history" keepMounted={false}>
        <Tabs.List aria-label="Customer records">
          <Tabs.Tab value="history">History</Tabs.Tab>
          <Tabs.Tab value="coupons">Coupons</Tabs.Tab>
          <Tabs.Tab value="pending">Pending credits</Tabs.Tab>
          <Tabs.Tab value="expiring">Expiring points</Tabs.Tab>
          <Tabs.Tab value="tiers">Tier history</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="coupons" pt="md">
          <Coupons customerId={id} canDisable={canWrite} />
        </Tabs.Panel>
        <Tabs.Panel value="pending" pt="md">
          <PendingCredits customerId={id} canCancel={canWrite} />
        </Tabs.Panel>
        <Tabs.Panel value="expiring" pt="md">
          <ExpiringPoints expiring={c.expiring ?? []} />
        </Tabs.Panel>
        <Tabs.Panel value="tiers" pt="md">
          <TierHistory customerId={id} />
        </Tabs.Panel>
        <Tabs.Panel value="history" pt="md">
          <Stack>
            {rows.length === 0 && !history.isPending ? (
              <Text c="dimmed">No points history yet. Use “Adjust points” to give this customer points.</Text>
            ) : (
              <Table.ScrollContainer minWidth={700}>
                <Table striped aria-label="Points history">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Date</Table.Th>
                      <Table.Th>Type</Table.Th>
                      <Table.Th ta="right">Points</Table.Th>
                      <Table.Th ta="right">Balance after</Table.Th>
                      <Table.Th>Reason</Table.Th>
                      <Table.Th>Customer message</Table.Th>
                      <Table.Th>Applied by</Table.Th>
                      <Table.Th>
                        <span className="sr-only">Actions</span>
                      </Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {rows.map((t) => (
                      <Table.Tr key={t.id} id={`tx-${t.id}`}>
                        <Table.Td>{fmtDate(t.createdAt)}</Table.Td>
                        <Table.Td>
                          <Badge variant="default">{t.type}</Badge>
                          {t.reversesId && (
                            <Text size="xs">
                              reverses <Anchor href={`#tx-${t.reversesId}`}>#{t.reversesId}</Anchor>
                            </Text>
                          )}
                        </Table.Td>
                        <Table.Td ta="right">{fmtSigned(t.points)}</Table.Td>
                        <Table.Td ta="right">{fmtNumber(t.balanceAfter)}</Table.Td>
                        <Table.Td>{t.reason}</Table.Td>
                        <Table.Td>{t.customerMessage ?? ''}</Table.Td>
                        <Table.Td>{t.actor?.name ?? t.actor?.type}</Table.Td>
                        <Table.Td>
                          {canWrite && t.type !== 'reversal' && t.points !== 0 && (
                            <Button size="compact-xs" variant="subtle" onClick={() => setReversing(t)} aria-label={`Reverse transaction ${t.id}`}>
                              Reverse
                            </Button>
                          )}
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
            <MoreButton query={history}>Older history</MoreButton>
          </Stack>
        </Tabs.Panel>
      </Tabs>
      <AdjustDialog customer={c} opened={adjusting} onClose={adjust.close} />
      {rewarding && <GiveRewardDialog customer={c} onClose={() => setRewarding(false)} />}
      {reversing && <ReverseDialog tx={reversing} customerId={id} onClose={() => setReversing(null)} />}
    </Stack>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl" data-testid={testId}>
        {value}
      </Text>
    </Paper>
  );
}

function ReverseDialog({ tx, customerId, onClose }: { tx: Transaction; customerId: number; onClose: () => void }) {
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const reverse = useMutation({
    mutationFn: () => call(api.POST('/v1/transactions/{id}/reverse', { params: { path: { id: tx.id } }, body: { reason } })),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['customer', customerId] });
      qc.invalidateQueries({ queryKey: ['history', customerId] });
      onClose();
    },
  });
  return (
    <FormDialog
      title={`Reverse transaction #${tx.id} (${fmtSigned(tx.points)} points)`}
      onClose={onClose}
      onSubmit={() => reverse.mutate()}
      pending={reverse.isPending}
      error={reverse.error}
      submitLabel="Reverse"
      submitColor="red"
    >
      <TextInput label="Reason" required minLength={3} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-autofocus />
    </FormDialog>
  );
}
