import { Alert, Badge, Button, Code, Table, Text } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { rewardValueText } from '../api/loyalty';
import { fmtDate } from '../format';
import { notifyDone } from '../feedback';
import { MoreButton } from '../MoreButton';

const SOURCE: Record<string, string> = { redemption: 'redeemed', free: 'given free', tier_entry: 'tier entry' };

/** A customer's coupons, newest first, each active one disableable. */
export function Coupons({ customerId, canDisable }: { customerId: number; canDisable: boolean }) {
  const qc = useQueryClient();
  const coupons = useInfiniteQuery({
    queryKey: ['coupons', customerId],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => call(api.GET('/v1/customers/{id}/coupons', { params: { path: { id: customerId }, query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  });
  const disable = useMutation({
    mutationFn: (code: string) => call(api.POST('/v1/coupons/{code}/disable', { params: { path: { code } } })),
    onSuccess: ({ coupon }) => {
      qc.invalidateQueries({ queryKey: ['coupons', customerId] });
      notifyDone(`Coupon ${coupon.code} disabled`);
    },
  });
  const rows = coupons.data?.pages.flatMap((p) => p.data) ?? [];
  if (coupons.isError) return <Alert color="red">{coupons.error.message}</Alert>;
  if (rows.length === 0 && !coupons.isPending) return <Text c="dimmed">No coupons yet. “Give reward” issues one.</Text>;
  return (
    <>
      <Table.ScrollContainer minWidth={640}>
        <Table striped aria-label="Coupons">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Code</Table.Th>
              <Table.Th>Reward</Table.Th>
              <Table.Th>How</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Issued</Table.Th>
              {canDisable && (
                <Table.Th>
                  <span className="sr-only">Actions</span>
                </Table.Th>
              )}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>
                  <Code>{c.code}</Code>
                </Table.Td>
                <Table.Td>
                  {c.rewardName} ({rewardValueText(c)})
                </Table.Td>
                <Table.Td>{SOURCE[c.source] ?? c.source}</Table.Td>
                <Table.Td>
                  <Badge variant="dot" color={c.active ? 'green' : 'gray'}>
                    {c.active ? 'active' : `disabled ${fmtDate(c.disabledAt)}`}
                  </Badge>
                </Table.Td>
                <Table.Td>{fmtDate(c.createdAt)}</Table.Td>
                {canDisable && (
                  <Table.Td>
                    {c.active && (
                      <Button size="compact-xs" variant="subtle" color="red" loading={disable.isPending && disable.variables === c.code} onClick={() => disable.mutate(c.code)} aria-label={`Disable coupon ${c.code}`}>
                        Disable
                      </Button>
                    )}
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {disable.error && <Alert color="red">{disable.error.message}</Alert>}
      <MoreButton query={coupons}>Older coupons</MoreButton>
    </>
  );
}
