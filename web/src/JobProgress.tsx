import { Anchor, Badge, Group, Paper, Progress, Stack, Text } from '@mantine/core';
import { api, call, type Job } from './api/client';
import { useQuery } from '@tanstack/react-query';
import { fmtNumber } from './format';
import { FINAL, statusColor, useJobEvents } from './JobsPage';
import { navigate } from './router';

/** A job's progress in place (live over SSE, a slow poll behind it), with a link to its full view. */
export function JobProgress({ id, label }: { id: number; label: string }) {
  const live = useJobEvents(id);
  const polled = useQuery({
    queryKey: ['job', id],
    queryFn: () => call(api.GET('/v1/jobs/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && FINAL.includes(q.state.data.status) ? false : 3000),
  });
  const job: Job | undefined = live && FINAL.includes(live.status) ? live : polled.data && FINAL.includes(polled.data.status) ? polled.data : (live ?? polled.data);
  const done = job ? FINAL.includes(job.status) : false;
  const pct = !job ? 0 : job.total > 0 ? Math.round((job.processed / job.total) * 100) : done ? 100 : 0;
  return (
    <Paper withBorder p="sm" aria-live="polite">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text size="sm">
            {label}:{' '}
            <Anchor
              href={`/jobs/${id}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/jobs/${id}`);
              }}
            >
              job #{id}
            </Anchor>
          </Text>
          <Badge variant="dot" color={job ? statusColor[job.status] : 'gray'} data-testid="inline-job-status">
            {job?.status ?? 'queued'}
          </Badge>
        </Group>
        <Progress value={pct} aria-label={`${label}: ${pct}%`} animated={!done} />
        {job && (
          <Text size="sm" c="dimmed">
            {fmtNumber(job.processed)} of {fmtNumber(job.total)} customers processed
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
