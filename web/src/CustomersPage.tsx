import { Alert, Anchor, Button, Checkbox, Group, Loader, NumberInput, Select, Stack, Table, Text, TextInput, Title, UnstyledButton } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from './api/client';
import { BulkDialog, type Selection } from './BulkDialog';
import { customerName } from './CustomerPage';
import { fmtDay, fmtNumber } from './format';
import { navigate } from './router';
import { useTiers } from './customer/TierPanel';

export type CustomerFilter = {
  search?: string;
  tierId?: number;
  minBalance?: number;
  maxBalance?: number;
  lastActivityAfter?: string;
  lastActivityBefore?: string;
  tierChangedAfter?: string;
};

type SortKey = 'createdAt' | 'name' | 'email' | 'balance' | 'lifetimePoints' | 'lastActivityAt';
type Sort = { by: SortKey; order: 'asc' | 'desc' };
/** The direction a column sorts in when first clicked: names A to Z, numbers and dates highest first. */
const FIRST_ORDER: Record<SortKey, Sort['order']> = { createdAt: 'desc', name: 'asc', email: 'asc', balance: 'desc', lifetimePoints: 'desc', lastActivityAt: 'desc' };
const NEWEST: Sort = { by: 'createdAt', order: 'desc' };

const dayStart = (d: string) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);

/** A column header that sorts the list by its key; a second click turns the order round. */
function SortHeader({ label, by, sort, onSort, right }: { label: string; by: SortKey; sort: Sort; onSort: (s: Sort) => void; right?: boolean }) {
  const active = sort.by === by;
  const next: Sort = active ? { by, order: sort.order === 'asc' ? 'desc' : 'asc' } : { by, order: FIRST_ORDER[by] };
  return (
    <Table.Th ta={right ? 'right' : undefined} aria-sort={active ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <UnstyledButton fw={700} fz="sm" onClick={() => onSort(next)} aria-label={`Sort by ${label.toLowerCase()}, ${next.order === 'asc' ? 'ascending' : 'descending'}`}>
        {label} {active ? (sort.order === 'asc' ? '▲' : '▼') : ''}
      </UnstyledButton>
    </Table.Th>
  );
}

export function CustomersPage() {
  const [search, setSearch] = useState('');
  const [minBalance, setMin] = useState<number | string>('');
  const [maxBalance, setMax] = useState<number | string>('');
  const [after, setAfter] = useState('');
  const [before, setBefore] = useState('');
  const [tierId, setTierId] = useState<string | null>(null);
  const [tierSince, setTierSince] = useState('');
  const [sort, setSort] = useState<Sort>(NEWEST);
  const [debounced] = useDebouncedValue(search, 250);
  const tiers = useTiers().data?.data ?? [];
  const filter: CustomerFilter = {
    ...(debounced.trim() ? { search: debounced.trim() } : {}),
    ...(tierId ? { tierId: Number(tierId) } : {}),
    ...(minBalance !== '' ? { minBalance: Number(minBalance) } : {}),
    ...(maxBalance !== '' ? { maxBalance: Number(maxBalance) } : {}),
    ...(after ? { lastActivityAfter: dayStart(after) } : {}),
    ...(before ? { lastActivityBefore: dayStart(before) } : {}),
    ...(tierSince ? { tierChangedAfter: dayStart(tierSince) } : {}),
  };
  const filterKey = JSON.stringify(filter);
  const key = JSON.stringify([filter, sort]);
  // Keyset pages: the cursors of the pages seen so far, so "Previous" goes back without offsets.
  const [cursors, setCursors] = useState<{ key: string; stack: (string | undefined)[] }>({ key, stack: [undefined] });
  const stack = cursors.key === key ? cursors.stack : [undefined];
  const cursor = stack[stack.length - 1];
  const list = useQuery({
    queryKey: ['customers', filter, sort, cursor],
    queryFn: () => call(api.GET('/v1/customers', { params: { query: { ...filter, sort: sort.by, order: sort.order, limit: 50, ...(cursor ? { cursor } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  // How many customers the filter holds, counted by the server (a separate request: the page does not wait for it).
  const total = useQuery({
    queryKey: ['customers-count', filter],
    queryFn: () => call(api.GET('/v1/customers/count', { params: { query: filter } })),
    placeholderData: keepPreviousData,
  });
  const count = total.data?.count;
  // Bulk changes are for owners and admins (the API refuses the others; the buttons are not shown to them).
  const role = useQueryClient().getQueryData<{ user: { role: string } }>(['session'])?.user.role;
  const canBulk = role === 'owner' || role === 'admin';
  const [selected, setSelected] = useState<Set<number>>(new Set());
  // "Select all N customers": every match of the filter it was chosen for, not a list of ids.
  const [everyMatchOf, setEveryMatchOf] = useState<string | null>(null);
  const everyMatch = everyMatchOf === filterKey;
  const [bulk, setBulk] = useState<Selection | null>(null);
  const rows = list.data?.data ?? [];
  const allOnPage = rows.length > 0 && rows.every((c) => selected.has(c.id));
  const filtered = Object.keys(filter).length > 0;
  const matching = filtered ? 'matching these filters' : 'in the store';
  const clearSelection = () => {
    setSelected(new Set());
    setEveryMatchOf(null);
  };
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
        <Select label="Tier" placeholder="Any tier" clearable data={tiers.map((t) => ({ value: String(t.id), label: t.name }))} value={tierId} onChange={setTierId} w={150} />
        <TextInput label="Tier changed since" type="date" value={tierSince} onChange={(e) => setTierSince(e.currentTarget.value)} w={170} />
      </Group>
      <Text aria-live="polite" data-testid="customer-count">
        {count === undefined ? 'Counting customers…' : `${fmtNumber(count)} ${count === 1 ? 'customer' : 'customers'} ${matching}`}
      </Text>
      {canBulk && <Group>
        {everyMatch ? (
          <Button onClick={() => setBulk(filtered ? { filter } : { all: true })}>Bulk adjust {fmtNumber(count)} customers</Button>
        ) : (
          <Button disabled={selected.size === 0} onClick={() => setBulk({ customerIds: [...selected] })}>
            Bulk adjust {selected.size > 0 ? `${fmtNumber(selected.size)} selected` : 'selected'}
          </Button>
        )}
        <Button variant="default" onClick={() => setBulk(filtered ? { filter } : { all: true })}>
          {filtered ? 'Bulk adjust every match of this filter' : 'Bulk adjust all customers'}
        </Button>
        {(selected.size > 0 || everyMatch) && (
          <Anchor component="button" onClick={clearSelection}>
            Clear selection
          </Anchor>
        )}
      </Group>}
      {canBulk && everyMatch ? (
        <Alert color="blue" aria-label="Selection">
          All {fmtNumber(count)} customers {matching} are selected.{' '}
          <Anchor component="button" onClick={clearSelection}>
            Clear selection
          </Anchor>
        </Alert>
      ) : canBulk && allOnPage && count !== undefined && count > rows.length ? (
        <Alert color="blue" aria-label="Selection">
          All {fmtNumber(rows.length)} customers on this page are selected.{' '}
          <Anchor component="button" onClick={() => setEveryMatchOf(filterKey)}>
            Select all {fmtNumber(count)} customers {matching}
          </Anchor>
        </Alert>
      ) : null}
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
                    checked={allOnPage || everyMatch}
                    disabled={everyMatch}
                    onChange={() =>
                      setSelected((s) => {
                        const n = new Set(s);
                        for (const c of rows) allOnPage ? n.delete(c.id) : n.add(c.id);
                        return n;
                      })
                    }
                  />
                </Table.Th>
                <SortHeader label="Name" by="name" sort={sort} onSort={setSort} />
                <SortHeader label="E-mail" by="email" sort={sort} onSort={setSort} />
                <Table.Th>External id</Table.Th>
                <SortHeader label="Balance" by="balance" sort={sort} onSort={setSort} right />
                <SortHeader label="Lifetime" by="lifetimePoints" sort={sort} onSort={setSort} right />
                <Table.Th>Tier</Table.Th>
                <SortHeader label="Last activity" by="lastActivityAt" sort={sort} onSort={setSort} />
                <SortHeader label="Joined" by="createdAt" sort={sort} onSort={setSort} />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((c) => (
                <Table.Tr key={c.id}>
                  <Table.Td>
                    <Checkbox aria-label={`Select ${customerName(c)}`} checked={everyMatch || selected.has(c.id)} disabled={everyMatch} onChange={() => toggle(c.id)} />
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
                  <Table.Td ta="right">{fmtNumber(c.lifetimePoints)}</Table.Td>
                  <Table.Td>{c.tier?.name ?? '—'}</Table.Td>
                  <Table.Td>{fmtDay(c.lastActivityAt)}</Table.Td>
                  <Table.Td>{fmtDay(c.createdAt)}</Table.Td>
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
