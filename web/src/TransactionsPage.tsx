import { Alert, Anchor, Badge, Button, Group, Loader, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from './api/client';
import { fmtDate, fmtNumber, fmtSigned } from './format';
import { navigate } from './router';

const TYPES = ['adjustment', 'reset', 'reversal', 'import', 'expiry', 'redemption', 'tier_reward'];
const dayStart = (d: string) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);

/** The store-wide ledger log with filters, and the same filters as a CSV download. */
export function TransactionsPage() {
  const [type, setType] = useState<string | null>(null);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const filter = { ...(type ? { type } : {}), ...(from ? { from: dayStart(from) } : {}), ...(to ? { to: dayStart(to) } : {}) };
  const cursor = cursors[cursors.length - 1];
  const list = useQuery({
    queryKey: ['transactions', filter, cursor],
    queryFn: () => call(api.GET('/v1/transactions', { params: { query: { ...filter, limit: 50, ...(cursor ? { cursor } : {}) } as never } })),
    placeholderData: keepPreviousData,
  });
  const rows = list.data?.data ?? [];
  const csv = `/v1/transactions/export.csv?${new URLSearchParams(filter as Record<string, string>).toString()}`;
  const reset = () => setCursors([undefined]);
  return (
    <Stack>
      <Title order={1}>Transactions</Title>
      <Group align="flex-end" wrap="wrap">
        <Select label="Type" clearable placeholder="Any type" data={TYPES} value={type} onChange={(v) => (setType(v), reset())} w={180} />
        <TextInput label="From" type="date" value={from} onChange={(e) => (setFrom(e.currentTarget.value), reset())} w={160} />
        <TextInput label="Before" type="date" value={to} onChange={(e) => (setTo(e.currentTarget.value), reset())} w={160} />
        <Anchor href={csv} download>
          Export these as CSV
        </Anchor>
      </Group>
      {list.isError && <Alert color="red">{list.error.message}</Alert>}
      {list.isPending ? (
        <Loader aria-label="Loading transactions" />
      ) : rows.length === 0 ? (
        <Text c="dimmed">No transactions match. Adjust a customer's points, or change the filters.</Text>
      ) : (
        <Table.ScrollContainer minWidth={700}>
          <Table striped aria-label="Transactions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Date</Table.Th>
                <Table.Th>Customer</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th ta="right">Points</Table.Th>
                <Table.Th ta="right">Balance after</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Applied by</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>{fmtDate(t.createdAt)}</Table.Td>
                  <Table.Td>
                    <Anchor
                      href={`/customers/${t.customerId}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/customers/${t.customerId}`);
                      }}
                    >
                      Customer #{t.customerId}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="default">{t.type}</Badge>
                  </Table.Td>
                  <Table.Td ta="right">{fmtSigned(t.points)}</Table.Td>
                  <Table.Td ta="right">{fmtNumber(t.balanceAfter)}</Table.Td>
                  <Table.Td>{t.reason}</Table.Td>
                  <Table.Td>{t.actor?.name ?? t.actor?.type}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group>
        <Button variant="default" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </Button>
        <Button variant="default" disabled={!list.data?.nextCursor} onClick={() => setCursors([...cursors, list.data!.nextCursor!])}>
          Next page
        </Button>
      </Group>
    </Stack>
  );
}
