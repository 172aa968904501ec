import { Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { AdjustDialog } from './AdjustDialog';
import { api, call, type Customer } from './api/client';
import { customerName } from './CustomerPage';
import { fmtNumber } from './format';

/** The global search bar: type a name or e-mail, pick the customer, adjust in place. */
export function QuickAdjust() {
  const [query, setQuery] = useState('');
  const [debounced] = useDebouncedValue(query.trim(), 200);
  const [picked, setPicked] = useState<Customer | null>(null);
  const found = useQuery({
    queryKey: ['quick', debounced],
    enabled: debounced.length > 0,
    queryFn: () => call(api.GET('/v1/customers', { params: { query: { search: debounced, limit: 8 } } })),
  });
  const rows = found.data?.data ?? [];
  return (
    <>
      <Select
        aria-label="Quick adjust: find a customer"
        placeholder="Quick adjust: name or e-mail"
        searchable
        w={{ base: 220, sm: 320 }}
        searchValue={query}
        onSearchChange={setQuery}
        filter={({ options }) => options}
        nothingFoundMessage={debounced ? (found.isFetching ? 'Searching…' : 'No customer found') : 'Type to search'}
        data={rows.map((c) => ({ value: String(c.id), label: `${customerName(c)}${c.email ? ` <${c.email}>` : ''} · ${fmtNumber(c.balance)} pts` }))}
        value={null}
        onChange={(v) => {
          const c = rows.find((r) => String(r.id) === v);
          if (c) setPicked(c);
          setQuery('');
        }}
      />
      {picked && <QuickDialog id={picked.id} initial={picked} onClose={() => setPicked(null)} />}
    </>
  );
}

function QuickDialog({ id, initial, onClose }: { id: number; initial: Customer; onClose: () => void }) {
  const customer = useQuery({ queryKey: ['customer', id], queryFn: () => call(api.GET('/v1/customers/{id}', { params: { path: { id } } })), initialData: initial });
  return <AdjustDialog customer={customer.data} opened onClose={onClose} />;
}
