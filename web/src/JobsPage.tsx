import { Alert, Anchor, Badge, Button, Group, Loader, Progress, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call, type Job } from './api/client';
import { fmtDate, fmtNumber } from './format';
import { navigate } from './router';
import { FormDialog, notifyDone } from './feedback';

export const FINAL = ['completed', 'failed', 'cancelled'];
export const statusColor: Record<string, string> = { completed: 'green', failed: 'red', cancelled: 'gray', running: 'blue', queued: 'yellow' };

export function JobsPage() {
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: () => call(api.GET('/v1/jobs', { params: { query: { limit: 100 } } })), refetchInterval: 3000 });
  const rows = jobs.data?.data ?? [];
  return (
    <Stack>
      <Title order={1}>Jobs</Title>
      {jobs.isPending ? (
        <Loader aria-label="Loading jobs" />
      ) : rows.length === 0 ? (
        <Text c="dimmed">No jobs yet. Bulk changes from the customer list run here.</Text>
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table aria-label="Jobs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Job</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Processed</Table.Th>
                <Table.Th>Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((j) => (
                <Table.Tr key={j.id}>
                  <Table.Td>
                    <Anchor
                      href={`/jobs/${j.id}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/jobs/${j.id}`);
                      }}
                    >
                      Job #{j.id}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{j.kind}</Table.Td>
                  <Table.Td>
                    <Badge variant="dot" color={statusColor[j.status]}>{j.status}</Badge>
                  </Table.Td>
                  <Table.Td ta="right">
                    {fmtNumber(j.processed)} / {fmtNumber(j.total)}
                  </Table.Td>
                  <Table.Td>{fmtDate(j.createdAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

/** A job's live state: the first event is its state now, then one per change, ending after the final status. */
export function useJobEvents(id: number): Job | undefined {
  const qc = useQueryClient();
  const [job, setJob] = useState<Job>();
  useEffect(() => {
    setJob(undefined);
    const source = new EventSource(`/v1/jobs/${id}/events`, { withCredentials: true });
    source.onmessage = (e) => {
      const j = JSON.parse(e.data) as Job;
      setJob(j);
      if (FINAL.includes(j.status)) {
        source.close();
        qc.invalidateQueries({ queryKey: ['jobs'] });
        qc.invalidateQueries({ queryKey: ['customers'] });
        notifyDone(`Job #${j.id} ${j.status}`, statusColor[j.status]);
      }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) return;
    };
    return () => source.close();
  }, [id, qc]);
  return job;
}

function latest(a: Job | undefined, b: Job | undefined): Job | undefined {
  if (!a || !b) return a ?? b;
  if (FINAL.includes(a.status) !== FINAL.includes(b.status)) return FINAL.includes(a.status) ? a : b;
  return b.processed > a.processed ? b : a;
}

export function JobPage({ id }: { id: number }) {
  const live = useJobEvents(id);
  // The stream is the live view; a slow poll backs it up should the stream drop (a proxy, a restart).
  const initial = useQuery({
    queryKey: ['job', id],
    queryFn: () => call(api.GET('/v1/jobs/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && FINAL.includes(q.state.data.status) ? false : 3000),
  });
  const [reverting, setReverting] = useState(false);
  const cancel = useMutation({ mutationFn: () => call(api.POST('/v1/jobs/{id}/cancel', { params: { path: { id } } })) });
  const job = latest(live, initial.data);
  if (initial.isError && !live) return <Alert color="red">{initial.error.message}</Alert>;
  if (!job) return <Loader aria-label="Loading job" />;
  const pct = job.total > 0 ? Math.round((job.processed / job.total) * 100) : FINAL.includes(job.status) ? 100 : 0;
  const done = FINAL.includes(job.status);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>
          Job #{job.id} ({job.kind})
        </Title>
        <Badge size="lg" variant="dot" color={statusColor[job.status]} data-testid="job-status">
          {job.status}
        </Badge>
      </Group>
      <Progress value={pct} size="xl" aria-label={`Progress ${pct}%`} animated={!done} />
      <SimpleGrid cols={{ base: 2, sm: 5 }}>
        <Text>Total: {fmtNumber(job.total)}</Text>
        <Text>Processed: {fmtNumber(job.processed)}</Text>
        <Text data-testid="job-succeeded">Succeeded: {fmtNumber(job.succeeded)}</Text>
        <Text>Skipped: {fmtNumber(job.skipped)}</Text>
        <Text>Failed: {fmtNumber(job.failed)}</Text>
      </SimpleGrid>
      <Text size="sm" c="dimmed">
        Created {fmtDate(job.createdAt)} · started {fmtDate(job.startedAt)} · finished {fmtDate(job.finishedAt)}
      </Text>
      {job.error && <Alert color="red">{job.error}</Alert>}
      <Group>
        {!done && (
          <Button color="red" variant="outline" onClick={() => cancel.mutate()} loading={cancel.isPending}>
            Cancel job
          </Button>
        )}
        {done && job.kind !== 'revert' && job.succeeded > 0 && (
          <Button variant="default" onClick={() => setReverting(true)}>
            Revert job
          </Button>
        )}
        {(job.skipped > 0 || job.failed > 0) && <Anchor href={`/v1/jobs/${job.id}/errors.csv`}>Download the error report (CSV)</Anchor>}
      </Group>
      {cancel.error && <Alert color="red">{cancel.error.message}</Alert>}
      {reverting && <RevertDialog id={job.id} onClose={() => setReverting(false)} />}
    </Stack>
  );
}

function RevertDialog({ id, onClose }: { id: number; onClose: () => void }) {
  const [reason, setReason] = useState('');
  const revert = useMutation({
    mutationFn: () => call(api.POST('/v1/jobs/{id}/revert', { params: { path: { id } }, body: { reason } })),
    onSuccess: (r) => {
      onClose();
      navigate(`/jobs/${(r as { job: Job }).job.id}`);
    },
  });
  return (
    <FormDialog title={`Revert job #${id}`} onClose={onClose} onSubmit={() => revert.mutate()} pending={revert.isPending} error={revert.error} submitLabel="Revert">
      <Text size="sm">Customers who have spent the points since are skipped and counted, never driven negative.</Text>
      <TextInput label="Reason" required minLength={3} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-autofocus />
    </FormDialog>
  );
}
