import { BarChart, LineChart } from '@mantine/charts';
import { Alert, Anchor, Group, Loader, Paper, SegmentedControl, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from './api/client';
import type { components } from './api/schema';
import { fmtNumber, fmtSigned } from './format';

type Interval = 'day' | 'week' | 'month';
type Report = { data: Period[]; pointValue: number | null };
type Period = {
  periodStart: string;
  periodEnd: string;
  openingBalance: number;
  closingBalance: number;
  byType: Record<string, { credited: number; debited: number }>;
  byActor: { actor: components['schemas']['Transaction']['actor']; credited: number; debited: number }[];
  liability: number | null;
};

const TYPE_COLORS: Record<string, string> = {
  adjustment: 'blue.7',
  reset: 'red.8',
  import: 'teal.8',
  redemption: 'orange.8',
  reward: 'grape.7',
  expiry: 'gray.7',
  reversal: 'pink.8',
  tier_reward: 'green.8',
};

const isoDay = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
/** A local calendar day's midnight as an instant: periods follow the browser's days. */
const localMidnight = (day: string, plusDays = 0) => {
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
};
const dayLabel = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const credited = (p: Period) => sum(Object.values(p.byType).map((f) => f.credited));
const debited = (p: Period) => sum(Object.values(p.byType).map((f) => f.debited));

function periodLabel(p: Period, interval: Interval): string {
  const start = new Date(p.periodStart);
  if (interval === 'day') return dayLabel.format(start);
  // periodEnd is exclusive: the last day shown is the one before it.
  const last = new Date(new Date(p.periodEnd).getTime() - 1);
  return `${dayLabel.format(start)} – ${dayLabel.format(last)}`;
}

/** Totals over the whole range, by a key (a type, an actor). */
function totalsBy<T>(periods: Period[], entries: (p: Period) => [string, T, { credited: number; debited: number }][]) {
  const totals = new Map<string, { label: T; credited: number; debited: number }>();
  for (const p of periods)
    for (const [key, label, f] of entries(p)) {
      const t = totals.get(key) ?? { label, credited: 0, debited: 0 };
      t.credited += f.credited;
      t.debited += f.debited;
      totals.set(key, t);
    }
  return [...totals.values()];
}

/** Points accounting from the ledger: outstanding balance, issued and taken by type and by staff member, and the liability. */
export function ReportsPage() {
  const today = isoDay(new Date());
  const monthAgo = isoDay(new Date(Date.now() - 29 * 86_400_000));
  const [from, setFrom] = useState(monthAgo);
  const [through, setThrough] = useState(today);
  const [interval, setInterval] = useState<Interval>('day');
  const valid = /^\d{4}-\d\d-\d\d$/.test(from) && /^\d{4}-\d\d-\d\d$/.test(through) && from <= through;
  const query = valid ? { from: localMidnight(from), to: localMidnight(through, 1), interval } : undefined;
  const report = useQuery({
    queryKey: ['report', query],
    queryFn: () => call(api.GET('/v1/reports/points', { params: { query: query! } })) as Promise<Report>,
    enabled: valid,
    placeholderData: keepPreviousData,
  });
  const periods = report.data?.data ?? [];
  const pointValue = report.data?.pointValue ?? null;
  const types = [...new Set(periods.flatMap((p) => Object.keys(p.byType)))].sort();
  const flows = periods.map((p) => ({
    period: periodLabel(p, interval),
    ...Object.fromEntries(types.flatMap((t) => [[`${t} +`, p.byType[t]?.credited ?? 0], [`${t} −`, p.byType[t]?.debited ?? 0]])),
  }));
  // A bar series per type and direction that moved points somewhere in the range (no empty legend entries).
  const series = types.flatMap((t) =>
    (['credited', 'debited'] as const)
      .filter((dir) => periods.some((p) => (p.byType[t]?.[dir] ?? 0) !== 0))
      .map((dir) => ({ name: `${t} ${dir === 'credited' ? '+' : '−'}`, color: TYPE_COLORS[t] ?? 'indigo.7' })),
  );
  const outstanding = periods.map((p) => ({ period: periodLabel(p, interval), Outstanding: p.closingBalance }));
  const byType = totalsBy(periods, (p) => Object.entries(p.byType).map(([t, f]) => [t, t, f]));
  const byActor = totalsBy(periods, (p) => p.byActor.map((a) => [JSON.stringify(a.actor), a.actor, a]));
  const first = periods[0];
  const last = periods[periods.length - 1];
  const csv = query ? `/v1/reports/points.csv?${new URLSearchParams(query).toString()}` : undefined;
  return (
    <Stack>
      <Title order={1}>Reports</Title>
      <Group align="flex-end" wrap="wrap">
        <TextInput label="From" type="date" value={from} max={through} onChange={(e) => setFrom(e.currentTarget.value)} w={170} />
        <TextInput label="Through" type="date" value={through} min={from} onChange={(e) => setThrough(e.currentTarget.value)} w={170} />
        <Stack gap={4}>
          <Text size="sm" fw={500} id="interval-label">
            Interval
          </Text>
          <SegmentedControl
            aria-labelledby="interval-label"
            value={interval}
            onChange={(v) => setInterval(v as Interval)}
            data={[
              { value: 'day', label: 'By day' },
              { value: 'week', label: 'By week' },
              { value: 'month', label: 'By month' },
            ]}
          />
        </Stack>
        {csv && (
          <Anchor href={csv} download>
            Download CSV
          </Anchor>
        )}
      </Group>
      {!valid && <Alert color="yellow">Choose a start date on or before the end date.</Alert>}
      {report.isError && <Alert color="red">{report.error.message}</Alert>}
      {report.isPending && valid ? (
        <Loader aria-label="Loading the report" />
      ) : first && last ? (
        <>
          <SimpleGrid cols={{ base: 2, md: 5 }} role="list" aria-label="Totals for the range">
            <Stat label="Outstanding at the start" value={fmtNumber(first.openingBalance)} />
            <Stat label="Points credited" value={fmtSigned(sum(periods.map(credited)))} />
            <Stat label="Points debited" value={fmtSigned(sum(periods.map(debited)))} />
            <Stat label="Outstanding at the end" value={fmtNumber(last.closingBalance)} testId="report-closing" />
            <Stat
              label="Liability at the end"
              value={last.liability === null ? '—' : money.format(last.liability)}
              hint={pointValue === null ? 'Set a point value in Settings' : `${fmtNumber(pointValue)} per point`}
            />
          </SimpleGrid>
          {byType.length === 0 ? (
            <Text c="dimmed">No points moved in this range. Adjust a customer's points, run a bulk change or import a file, then come back.</Text>
          ) : (
            <SimpleGrid cols={{ base: 1, lg: 2 }}>
              <Paper withBorder p="md" component="figure" m={0} aria-label="Points credited and debited by type, per period">
                <Text component="figcaption" fw={500} mb="sm">
                  Points credited and debited by type
                </Text>
                <BarChart
                  h={260}
                  data={flows}
                  dataKey="period"
                  type="stacked"
                  withLegend
                  series={series}
                />
              </Paper>
              <Paper withBorder p="md" component="figure" m={0} aria-label="Outstanding points at the end of each period">
                <Text component="figcaption" fw={500} mb="sm">
                  Outstanding points
                </Text>
                <LineChart h={260} data={outstanding} dataKey="period" curveType="linear" series={[{ name: 'Outstanding', color: 'blue.8' }]} />
              </Paper>
            </SimpleGrid>
          )}
          <PeriodTable periods={periods} interval={interval} />
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <FlowTable label="By type" rows={byType.map((t) => ({ name: t.label, ...t }))} />
            <FlowTable label="By staff member or key" rows={byActor.map((a) => ({ name: a.label.type === 'system' ? `${a.label.name} (system)` : a.label.name, ...a }))} />
          </SimpleGrid>
        </>
      ) : null}
    </Stack>
  );
}

function Stat({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <Paper withBorder p="sm" role="listitem">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl" data-testid={testId}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

function PeriodTable({ periods, interval }: { periods: Period[]; interval: Interval }) {
  return (
    <Table.ScrollContainer minWidth={700}>
      <Table striped aria-label="Report by period">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Period</Table.Th>
            <Table.Th ta="right">Opening</Table.Th>
            <Table.Th ta="right">Credited</Table.Th>
            <Table.Th ta="right">Debited</Table.Th>
            <Table.Th ta="right">Closing</Table.Th>
            <Table.Th ta="right">Liability</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {periods.map((p) => (
            <Table.Tr key={p.periodStart}>
              <Table.Td>{periodLabel(p, interval)}</Table.Td>
              <Table.Td ta="right">{fmtNumber(p.openingBalance)}</Table.Td>
              <Table.Td ta="right">{fmtSigned(credited(p))}</Table.Td>
              <Table.Td ta="right">{fmtSigned(debited(p))}</Table.Td>
              <Table.Td ta="right">{fmtNumber(p.closingBalance)}</Table.Td>
              <Table.Td ta="right">{p.liability === null ? '—' : money.format(p.liability)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function FlowTable({ label, rows }: { label: string; rows: { name: string; credited: number; debited: number }[] }) {
  return (
    <Table aria-label={label}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{label}</Table.Th>
          <Table.Th ta="right">Credited</Table.Th>
          <Table.Th ta="right">Debited</Table.Th>
          <Table.Th ta="right">Net</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.length === 0 ? (
          <Table.Tr>
            <Table.Td colSpan={4}>
              <Text c="dimmed" size="sm">
                Nothing in this range.
              </Text>
            </Table.Td>
          </Table.Tr>
        ) : (
          rows.map((r, i) => (
            <Table.Tr key={i}>
              <Table.Td>{r.name}</Table.Td>
              <Table.Td ta="right">{fmtSigned(r.credited)}</Table.Td>
              <Table.Td ta="right">{fmtSigned(r.debited)}</Table.Td>
              <Table.Td ta="right">{fmtSigned(r.credited + r.debited)}</Table.Td>
            </Table.Tr>
          ))
        )}
      </Table.Tbody>
    </Table>
  );
}
