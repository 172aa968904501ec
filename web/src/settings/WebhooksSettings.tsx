import { Alert, Badge, Button, Code, Group, Loader, Modal, MultiSelect, Stack, Switch, Table, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { components, paths } from '../api/schema';
import { fmtDate, fmtNumber } from '../format';
import { FormDialog, notifyDone } from '../feedback';
import { MoreButton } from '../MoreButton';

type Webhook = components['schemas']['Webhook'];
type EventType = paths['/v1/webhooks']['post']['requestBody']['content']['application/json']['events'][number];
const EVENTS: EventType[] = ['transaction.created', 'transaction.batch', 'customer.tier_changed', 'customer.points_expiring', 'job.completed', 'job.failed', 'webhook.disabled'];
const deliveryColor: Record<string, string> = { succeeded: 'green', failed: 'red', pending: 'yellow' };

/** Webhook endpoints: register (the signing secret shown once), events, enable/disable, rotate the secret, remove; each one's delivery log. */
export function WebhooksSettings() {
  const qc = useQueryClient();
  const hooks = useQuery({ queryKey: ['webhooks'], queryFn: () => call(api.GET('/v1/webhooks')) });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['transaction.created']);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [log, setLog] = useState<Webhook | null>(null);
  const [removing, setRemoving] = useState<Webhook | null>(null);
  const shown = (w: Webhook) => w.secret && setSecret({ url: w.url, secret: w.secret });
  const create = useMutation({
    mutationFn: () => call(api.POST('/v1/webhooks', { body: { url: url.trim(), events: events as EventType[] } })),
    onSuccess: ({ webhook }) => {
      shown(webhook);
      setUrl('');
      qc.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  const toggle = useMutation({
    mutationFn: (w: Webhook) => call(api.PATCH('/v1/webhooks/{id}', { params: { path: { id: w.id } }, body: { enabled: !w.enabled } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ['webhooks'] }),
  });
  const rotate = useMutation({
    mutationFn: (w: Webhook) => call(api.POST('/v1/webhooks/{id}/rotate-secret', { params: { path: { id: w.id } } })),
    onSuccess: ({ webhook }) => shown(webhook),
  });
  const rows = hooks.data?.data ?? [];
  return (
    <Stack>
      <Title order={2} size="h3">
        Webhooks
      </Title>
      {hooks.isPending ? (
        <Loader aria-label="Loading webhooks" />
      ) : hooks.isError ? (
        <Alert color="red">{hooks.error.message}</Alert>
      ) : rows.length === 0 ? (
        <Text c="dimmed">No webhooks yet. Register an endpoint below to be told of new transactions, tier changes and finished jobs.</Text>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Webhooks">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Endpoint</Table.Th>
                <Table.Th>Events</Table.Th>
                <Table.Th>Enabled</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>
                  <span className="sr-only">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((w) => (
                <Table.Tr key={w.id}>
                  <Table.Td style={{ wordBreak: 'break-all' }}>{w.url}</Table.Td>
                  <Table.Td>{w.events.join(', ')}</Table.Td>
                  <Table.Td>
                    <Switch aria-label={`${w.url} enabled`} checked={w.enabled} onChange={() => toggle.mutate(w)} />
                    {w.disabledReason && (
                      <Text size="xs" c="red.8">
                        {w.disabledReason}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{fmtDate(w.createdAt)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button size="compact-sm" variant="default" onClick={() => setLog(w)} aria-label={`Delivery log of ${w.url}`}>
                        Deliveries
                      </Button>
                      <Button size="compact-sm" variant="default" onClick={() => rotate.mutate(w)} aria-label={`Rotate the secret of ${w.url}`}>
                        Rotate secret
                      </Button>
                      <Button size="compact-sm" variant="outline" color="red" onClick={() => setRemoving(w)} aria-label={`Remove ${w.url}`}>
                        Remove
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {(toggle.error ?? rotate.error) && <Alert color="red">{(toggle.error ?? rotate.error)?.message}</Alert>}
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Group align="flex-end" wrap="wrap">
          <TextInput label="Endpoint URL" type="url" required placeholder="https://example.com/tally" value={url} onChange={(e) => setUrl(e.currentTarget.value)} w={320} />
          <MultiSelect label="Events" required searchable data={EVENTS} value={events} onChange={setEvents} w={360} />
          <Button type="submit" loading={create.isPending} disabled={events.length === 0}>
            Add webhook
          </Button>
        </Group>
      </form>
      {create.error && <Alert color="red">{create.error.message}</Alert>}
      {secret && (
        <Alert color="blue" title="Signing secret (shown once: copy it now)">
          For {secret.url}: <Code data-testid="webhook-secret">{secret.secret}</Code>
        </Alert>
      )}
      {log && <DeliveriesDialog webhook={log} onClose={() => setLog(null)} />}
      {removing && <RemoveDialog webhook={removing} onClose={() => setRemoving(null)} />}
    </Stack>
  );
}

function RemoveDialog({ webhook, onClose }: { webhook: Webhook; onClose: () => void }) {
  const qc = useQueryClient();
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/v1/webhooks/{id}', { params: { path: { id: webhook.id } } })),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['webhooks'] });
      notifyDone(`${webhook.url} removed`);
      onClose();
    },
  });
  return (
    <FormDialog
      title="Remove this webhook?"
      onClose={onClose}
      onSubmit={() => remove.mutate()}
      pending={remove.isPending}
      error={remove.error}
      cancelLabel="Keep it"
      focusCancel
      submitLabel="Remove webhook"
      submitColor="red"
    >
      <Text style={{ wordBreak: 'break-all' }}>{webhook.url} stops receiving events, and its delivery log is removed with it.</Text>
    </FormDialog>
  );
}

function DeliveriesDialog({ webhook, onClose }: { webhook: Webhook; onClose: () => void }) {
  const qc = useQueryClient();
  const deliveries = useInfiniteQuery({
    queryKey: ['deliveries', webhook.id],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => call(api.GET('/v1/webhooks/{id}/deliveries', { params: { path: { id: webhook.id }, query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  });
  const redeliver = useMutation({
    mutationFn: (deliveryId: number) => call(api.POST('/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: { id: webhook.id, deliveryId } } })),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['deliveries', webhook.id] });
      notifyDone('Sent again');
    },
  });
  const rows = deliveries.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened onClose={onClose} title={`Deliveries to ${webhook.url}`} centered size="xl">
      <Stack>
        {deliveries.isError && <Alert color="red">{deliveries.error.message}</Alert>}
        {rows.length === 0 && !deliveries.isPending ? (
          <Text c="dimmed">No deliveries yet: events are sent here as they happen.</Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table striped aria-label="Deliveries">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Date</Table.Th>
                  <Table.Th>Event</Table.Th>
                  <Table.Th ta="right">Attempt</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Answer</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((d) => (
                  <Table.Tr key={d.id}>
                    <Table.Td>{fmtDate(d.createdAt)}</Table.Td>
                    <Table.Td>{d.eventType}</Table.Td>
                    <Table.Td ta="right">{fmtNumber(d.attempt)}</Table.Td>
                    <Table.Td>
                      <Badge variant="dot" color={deliveryColor[d.status]}>
                        {d.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {d.responseStatus ?? ''} {d.error ?? ''} {d.durationMs != null ? `(${fmtNumber(d.durationMs)} ms)` : ''}
                    </Table.Td>
                    <Table.Td>
                      {d.status !== 'pending' && (
                        <Button size="compact-xs" variant="subtle" onClick={() => redeliver.mutate(d.id)} aria-label={`Send delivery ${d.id} again`}>
                          Send again
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {redeliver.error && <Alert color="red">{redeliver.error.message}</Alert>}
        <MoreButton query={deliveries}>Older deliveries</MoreButton>
      </Stack>
    </Modal>
  );
}
