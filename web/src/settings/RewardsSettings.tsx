import { Alert, Badge, Button, Group, Loader, NumberInput, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../api/client';
import { REWARD_KIND_LABELS, rewardValueText, type Reward, type RewardKind } from '../api/loyalty';
import { fmtDate, fmtNumber } from '../format';
import { FormDialog, notifyDone } from '../feedback';
import { MoreButton } from '../MoreButton';

/** The rewards catalog: list, create, edit, disable or enable again (rewards are never deleted). */
export function RewardsSettings({ canEdit }: { canEdit: boolean }) {
  const qc = useQueryClient();
  const rewards = useInfiniteQuery({
    queryKey: ['rewards', 'catalog'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => call(api.GET('/v1/rewards', { params: { query: { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  });
  const [editing, setEditing] = useState<Reward | 'new' | null>(null);
  const toggle = useMutation({
    mutationFn: (r: Reward) => call(api.PATCH('/v1/rewards/{id}', { params: { path: { id: r.id } }, body: { active: !r.active } })),
    onSuccess: ({ reward }) => {
      notifyDone(`${reward.name} ${reward.active ? 'enabled' : 'disabled'}`);
      qc.invalidateQueries({ queryKey: ['rewards'] });
    },
  });
  const rows = rewards.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2} size="h3">
          Rewards
        </Title>
        {canEdit && <Button onClick={() => setEditing('new')}>New reward</Button>}
      </Group>
      {rewards.isPending ? (
        <Loader aria-label="Loading rewards" />
      ) : rewards.isError ? (
        <Alert color="red">{rewards.error.message}</Alert>
      ) : rows.length === 0 ? (
        <Text c="dimmed">No rewards yet. {canEdit ? 'Create one with “New reward”: customers get it as a coupon.' : 'An owner or admin can create them.'}</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="Rewards">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Gives</Table.Th>
                <Table.Th ta="right">Cost (points)</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Created</Table.Th>
                {canEdit && (
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>{r.name}</Table.Td>
                  <Table.Td>{rewardValueText(r)}</Table.Td>
                  <Table.Td ta="right">{fmtNumber(r.pointsCost)}</Table.Td>
                  <Table.Td>
                    <Badge variant="dot" color={r.active ? 'green' : 'gray'}>
                      {r.active ? 'active' : 'disabled'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{fmtDate(r.createdAt)}</Table.Td>
                  {canEdit && (
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button size="compact-sm" variant="default" onClick={() => setEditing(r)} aria-label={`Edit ${r.name}`}>
                          Edit
                        </Button>
                        <Button size="compact-sm" variant="outline" color={r.active ? 'red' : undefined} onClick={() => toggle.mutate(r)} aria-label={`${r.active ? 'Disable' : 'Enable'} ${r.name}`}>
                          {r.active ? 'Disable' : 'Enable'}
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <MoreButton query={rewards}>More rewards</MoreButton>
      {toggle.error && <Alert color="red">{toggle.error.message}</Alert>}
      {editing && <RewardDialog reward={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
    </Stack>
  );
}

function RewardDialog({ reward, onClose }: { reward: Reward | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState(reward?.name ?? '');
  const [pointsCost, setCost] = useState<number | string>(reward?.pointsCost ?? '');
  const [kind, setKind] = useState<RewardKind>(reward?.kind ?? 'fixed_amount');
  const [value, setValue] = useState<number | string>(reward?.value ?? '');
  const valued = kind !== 'free_shipping';
  const save = useMutation({
    mutationFn: () => {
      const fields = { name: name.trim(), pointsCost: Number(pointsCost), ...(valued ? { value: Number(value) } : {}) };
      return reward
        ? call(api.PATCH('/v1/rewards/{id}', { params: { path: { id: reward.id } }, body: fields }))
        : call(api.POST('/v1/rewards', { body: { ...fields, kind } }));
    },
    onSuccess: ({ reward: saved }) => {
      qc.invalidateQueries({ queryKey: ['rewards'] });
      notifyDone(`${saved.name} saved`);
      onClose();
    },
  });
  return (
    <FormDialog
      title={reward ? `Edit ${reward.name}` : 'New reward'}
      onClose={onClose}
      onSubmit={() => save.mutate()}
      pending={save.isPending}
      error={save.error}
      submitLabel={reward ? 'Save reward' : 'Create reward'}
    >
      <TextInput label="Reward name" required value={name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
      <NumberInput label="Cost in points" required min={0} allowDecimal={false} allowNegative={false} thousandSeparator value={pointsCost} onChange={setCost} />
      <Select
        label="Kind"
        description={reward ? 'The kind of a reward cannot change' : undefined}
        disabled={reward !== null}
        allowDeselect={false}
        value={kind}
        onChange={(v) => v && setKind(v as RewardKind)}
        data={Object.entries(REWARD_KIND_LABELS).map(([value, label]) => ({ value, label }))}
      />
      {valued && (
        <NumberInput
          label={kind === 'percentage' ? 'Percentage off' : 'Amount off'}
          required
          min={kind === 'percentage' ? 1 : 0.01}
          max={kind === 'percentage' ? 100 : undefined}
          decimalScale={kind === 'percentage' ? 0 : 2}
          allowNegative={false}
          value={value}
          onChange={setValue}
        />
      )}
    </FormDialog>
  );
}
