import { Alert, Anchor, Button, Checkbox, Group, Loader, NumberInput, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from './api/client';
import { BulkDialog, type Selection } from './BulkDialog';
import { customerName } from './CustomerPage';
import { fmtDate, fmtNumber } from './format';
import { navigate } from './router';

export type CustomerFilter = { search?: string; minBalance?: number; maxBalance?: number; lastActivityAfter?: string; lastActivityBefore?: string };

const dayStart = (d: string) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);

export function CustomersPage() {
  const [search, setSearch] = useState('');
  const [minBalance, setMin] = useState<number | string>('');
  const [maxBalance, setMax] = useState<number | string>('');
  const [after, setAfter] = useState('');
  const [before, setBefore] = useState('');
  const [debounced] = useDebouncedValue(search, 250);
  const filter: CustomerFilter = {
    ...(debounced.trim() ? { search: debounced.trim() } : {}),
    ...(minBalance !== '' ? { minBalance: Number(minBalance) } : {}),
    ...(maxBalance !== '' ? { maxBalance: Number(maxBalance) } : {}),
    ...(after ? { lastActivityAfter: dayStart(after) } : {}),
    ...(before ? { lastActivityBefore: dayStart(before) } : {}),
  };
  const key = JSON.stringify(filter);
  // Keyset pages: the cursors of the pages seen so far, so "Previous" goes back without offsets.
  const [cursors, setCursors] = useState<{ key: string; stack: (string | undefined)[] }>({ key, stack: [undefined] });
  const stack = cursors.key === key ? cursors.stack : [undefined];
  const cursor = stack[stack.length - 1];
  const list = useQuery({
    queryKey: ['customers', filter, cursor],
    queryFn: () => call(api.GET('/v1/customers', { params: { query: { ...filter, limit: 50, ...(cursor ? { cursor } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  // Bulk changes are for owners and admins (the API refuses the others; the buttons are not shown to them).
  const role = useQueryClient().getQueryData<{ user: { role: string } }>(['session'])?.user.role;
  const canBulk = role === 'owner' || role === 'admin';
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [bulk, setBulk] = useState<Selection | null>(null);
  const rows = list.data?.data ?? [];
  const allOnPage = rows.length > 0 && rows.every((c) => selected.has(c.id));
  const filtered = Object.keys(filter).length > 0;
  const toggle = (id: number) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  return (
    <Stack>
      <Title order={1}>Customers</Title>
      <Group align="flex-end" wrap="wrap">
        <TextInput label="Search" placeholder="Name, e-mail or external id" value={search} onChange={(e) => setSearch(e.currentTarget.value)} w={260} />
        <NumberInput label="Balance from" value={minBalance} onChange={setMin} allowDecimal={false} w={130} />
        <NumberInput label="Balance to" value={maxBalance} onChange={setMax} allowDecimal={false} w={130} />
        <TextInput label="Active since" type="date" value={after} onChange={(e) => setAfter(e.currentTarget.value)} w={160} />
        <TextInput label="Inactive since" type="date" value={before} onChange={(e) => setBefore(e.currentTarget.value)} w={160} />
      </Group>
      {canBulk && <Group>
        <Button disabled={selected.size === 0} onClick={() => setBulk({ customerIds: [...selected] })}>
          Bulk adjust {selected.size > 0 ? `${fmtNumber(selected.size)} selected` : 'selected'}
        </Button>
        <Button variant="default" onClick={() => setBulk(filtered ? { filter } : { all: true })}>
          {filtered ? 'Bulk adjust every match of this filter' : 'Bulk adjust all customers'}
        </Button>
        {selected.size > 0 && (
          <Anchor component="button" onClick={() => setSelected(new Set())}>
            Clear selection
          </Anchor>
        )}
      </Group>}
      {list.isError && <Alert color="red">{list.error.message}</Alert>}
      {list.isPending ? (
        <Loader aria-label="Loading customers" />
      ) : rows.length === 0 ? (
        <Text c="dimmed">{filtered ? 'No customer matches these filters. Change or clear them.' : 'No customers yet. They appear here once your store adds or imports them.'}</Text>
      ) : (
        <Table.ScrollContainer minWidth={700}>
          <Table highlightOnHover aria-label="Customers">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>
                  <Checkbox
                    aria-label="Select this page"
                    checked={allOnPage}
                    onChange={() =>
                      setSelected((s) => {
                        const n = new Set(s);
                        for (const c of rows) allOnPage ? n.delete(c.id) : n.add(c.id);
                        return n;
                      })
                    }
                  />
                </Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>E-mail</Table.Th>
                <Table.Th>External id</Table.Th>
                <Table.Th ta="right">Balance</Table.Th>
                <Table.Th>Tier</Table.Th>
                <Table.Th>Last activity</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((c) => (
                <Table.Tr key={c.id}>
                  <Table.Td>
                    <Checkbox aria-label={`Select ${customerName(c)}`} checked={selected.has(c.id)} onChange={() => toggle(c.id)} />
                  </Table.Td>
                  <Table.Td>
                    <Anchor
                      href={`/customers/${c.id}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/customers/${c.id}`);
                      }}
                    >
                      {customerName(c)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{c.email}</Table.Td>
                  <Table.Td>{c.externalId}</Table.Td>
                  <Table.Td ta="right">{fmtNumber(c.balance)}</Table.Td>
                  <Table.Td>{c.tier?.name ?? '—'}</Table.Td>
                  <Table.Td>{fmtDate(c.lastActivityAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group>
        <Button variant="default" disabled={stack.length < 2} onClick={() => setCursors({ key, stack: stack.slice(0, -1) })}>
          Previous page
        </Button>
        <Button variant="default" disabled={!list.data?.nextCursor} onClick={() => setCursors({ key, stack: [...stack, list.data!.nextCursor!] })}>
          Next page
        </Button>
      </Group>
      {bulk && <BulkDialog selection={bulk} onClose={() => setBulk(null)} />}
    </Stack>
  );
}
