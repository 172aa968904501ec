import { Alert, Button, Group, Loader, NumberInput, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { Reward, Tier } from '../api/loyalty';
import { fmtNumber } from '../format';
import { JobProgress } from '../JobProgress';
import { ErrorAlert, notifyDone } from '../feedback';

type EntryKind = 'none' | 'points' | 'reward';
type Row = { key: number; name: string; threshold: number | string; entry: EntryKind; points: number | string; rewardId: string | null };

let nextKey = 1;
const toRow = (t: Tier): Row => ({
  key: nextKey++,
  name: t.name,
  threshold: t.threshold,
  entry: t.entryReward?.points ? 'points' : t.entryReward?.rewardId ? 'reward' : 'none',
  points: t.entryReward?.points ?? '',
  rewardId: t.entryReward?.rewardId ? String(t.entryReward.rewardId) : null,
});

const toBody = (r: Row) => ({
  name: r.name.trim(),
  threshold: Number(r.threshold),
  ...(r.entry === 'points' ? { entryReward: { points: Number(r.points) } } : r.entry === 'reward' && r.rewardId ? { entryReward: { rewardId: Number(r.rewardId) } } : {}),
});

export function entryRewardText(t: Tier, rewards: Reward[]): string {
  if (t.entryReward?.points) return `${fmtNumber(t.entryReward.points)} points`;
  if (t.entryReward?.rewardId) return rewards.find((r) => r.id === t.entryReward?.rewardId)?.name ?? `Reward #${t.entryReward.rewardId}`;
  return 'None';
}

/** The tier table: edited as a whole and saved with PUT /v1/tiers; the re-evaluation job's progress follows. */
export function TiersSettings({ canEdit }: { canEdit: boolean }) {
  const qc = useQueryClient();
  const tiers = useQuery({ queryKey: ['tiers'], queryFn: () => call(api.GET('/v1/tiers')) });
  const rewards = useQuery({ queryKey: ['rewards', 'all'], queryFn: () => call(api.GET('/v1/rewards', { params: { query: { limit: 500 } } })) });
  const [draft, setDraft] = useState<Row[] | null>(null);
  const [jobId, setJobId] = useState<number | null>(null);
  const save = useMutation({
    mutationFn: (rows: Row[]) => call(api.PUT('/v1/tiers', { body: rows.map(toBody) })),
    onSuccess: (r) => {
      qc.setQueryData(['tiers'], { data: r.data, job: null });
      qc.invalidateQueries({ queryKey: ['customer'] });
      setDraft(null);
      setJobId(r.job?.id ?? null);
      notifyDone(r.job ? 'Tiers saved: customers are being re-evaluated' : 'Tiers saved');
    },
  });
  if (tiers.isPending) return <Loader aria-label="Loading tiers" />;
  if (tiers.isError) return <Alert color="red">{tiers.error.message}</Alert>;
  const rewardList = rewards.data?.data ?? [];
  const rewardOptions = rewardList.filter((r) => r.active).map((r) => ({ value: String(r.id), label: r.name }));
  const rows = draft ?? tiers.data.data.map(toRow);
  const edit = (key: number, change: Partial<Row>) => setDraft(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(rows);
  };
  return (
    <Stack>
      <Title order={2} size="h3">
        Tiers
      </Title>
      <Text size="sm" c="dimmed">
        A customer is placed in the highest tier whose threshold their lifetime points reach. An entry reward is given once, the first time a customer enters the tier.
      </Text>
      {!canEdit ? (
        tiers.data.data.length === 0 ? (
          <Text c="dimmed">No tiers yet. An owner or admin can set them up here.</Text>
        ) : (
          <Table aria-label="Tiers">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th ta="right">Threshold (lifetime points)</Table.Th>
                <Table.Th>Entry reward</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tiers.data.data.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>{t.name}</Table.Td>
                  <Table.Td ta="right">{fmtNumber(t.threshold)}</Table.Td>
                  <Table.Td>{entryRewardText(t, rewardList)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )
      ) : (
        <form onSubmit={submit}>
          <Stack>
            {rows.length === 0 ? (
              <Text c="dimmed">No tiers yet. Add the first one (for example “Silver” from 500 lifetime points).</Text>
            ) : (
              <Table.ScrollContainer minWidth={720}>
                <Table aria-label="Tiers">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Name</Table.Th>
                      <Table.Th>Threshold (lifetime points)</Table.Th>
                      <Table.Th>Entry reward</Table.Th>
                      <Table.Th>Points or reward</Table.Th>
                      <Table.Th>
                        <span className="sr-only">Actions</span>
                      </Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {rows.map((r, i) => (
                      <Table.Tr key={r.key}>
                        <Table.Td>
                          <TextInput aria-label={`Name of tier ${i + 1}`} required value={r.name} onChange={(e) => edit(r.key, { name: e.currentTarget.value })} />
                        </Table.Td>
                        <Table.Td>
                          <NumberInput aria-label={`Threshold of tier ${i + 1}`} required min={0} allowDecimal={false} allowNegative={false} thousandSeparator value={r.threshold} onChange={(v) => edit(r.key, { threshold: v })} />
                        </Table.Td>
                        <Table.Td>
                          <Select
                            aria-label={`Entry reward of tier ${i + 1}`}
                            allowDeselect={false}
                            value={r.entry}
                            onChange={(v) => v && edit(r.key, { entry: v as EntryKind })}
                            data={[
                              { value: 'none', label: 'None' },
                              { value: 'points', label: 'Points' },
                              { value: 'reward', label: 'A reward (coupon)', disabled: rewardOptions.length === 0 },
                            ]}
                          />
                        </Table.Td>
                        <Table.Td>
                          {r.entry === 'points' && (
                            <NumberInput aria-label={`Entry points of tier ${i + 1}`} required min={1} allowDecimal={false} allowNegative={false} thousandSeparator value={r.points} onChange={(v) => edit(r.key, { points: v })} />
                          )}
                          {r.entry === 'reward' && (
                            <Select aria-label={`Entry reward coupon of tier ${i + 1}`} required data={rewardOptions} value={r.rewardId} onChange={(v) => edit(r.key, { rewardId: v })} />
                          )}
                        </Table.Td>
                        <Table.Td>
                          <Button variant="subtle" color="red" size="compact-sm" onClick={() => setDraft(rows.filter((x) => x.key !== r.key))} aria-label={`Remove tier ${r.name || i + 1}`}>
                            Remove
                          </Button>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
            <ErrorAlert error={save.error} />
            <Group>
              <Button variant="default" onClick={() => setDraft([...rows, { key: nextKey++, name: '', threshold: '', entry: 'none', points: '', rewardId: null }])}>
                Add tier
              </Button>
              <Button type="submit" loading={save.isPending} disabled={draft === null}>
                Save tiers
              </Button>
              {draft !== null && (
                <Button variant="subtle" onClick={() => setDraft(null)}>
                  Discard changes
                </Button>
              )}
            </Group>
          </Stack>
        </form>
      )}
      {jobId !== null && <JobProgress id={jobId} label="Placing customers in the new tiers" />}
    </Stack>
  );
}
