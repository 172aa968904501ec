import { Alert, Button, Group, List, Loader, Modal, NumberInput, SegmentedControl, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { Settings } from '../api/loyalty';
import { fmtNumber } from '../format';
import { ErrorAlert, notifyDone } from '../feedback';

type Mode = Settings['expiry']['mode'];
const MODES: { value: Mode; label: string }[] = [
  { value: 'none', label: 'Never expire' },
  { value: 'per_credit', label: 'Days after each credit' },
  { value: 'inactivity', label: 'After days without activity' },
];

export function expiryText(e: Settings['expiry']): string {
  if (e.mode === 'per_credit') return `Points expire ${fmtNumber(e.days)} days after they were credited`;
  if (e.mode === 'inactivity') return `The balance expires after ${fmtNumber(e.days)} days without the customer's own activity`;
  return 'Points never expire';
}

/** Points rules: the expiry rule (a changed rule is previewed with a dry run and confirmed), messages, point value, agent limit. */
export function PointsRules({ canEdit }: { canEdit: boolean }) {
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => call(api.GET('/v1/settings')) });
  if (settings.isPending) return <Loader aria-label="Loading settings" />;
  if (settings.isError) return <Alert color="red">{settings.error.message}</Alert>;
  return (
    <Stack>
      <Title order={2} size="h3">
        Points rules
      </Title>
      {canEdit ? <RulesForm key={JSON.stringify(settings.data)} initial={settings.data} /> : <RulesView s={settings.data} />}
    </Stack>
  );
}

function RulesView({ s }: { s: Settings }) {
  return (
    <List>
      <List.Item>{expiryText(s.expiry)}</List.Item>
      <List.Item>Default customer message: {s.defaultCustomerMessage ?? 'none'}</List.Item>
      <List.Item>Notify e-mail: {s.notifyEmail ?? 'none'}</List.Item>
      <List.Item>Point value: {s.pointValue ?? 'not set'}</List.Item>
      <List.Item>Agent point limit: {fmtNumber(s.agentPointLimit ?? 1000)}</List.Item>
    </List>
  );
}

const orNull = (s: string) => (s.trim() === '' ? null : s.trim());
const numOrNull = (v: number | string) => (v === '' ? null : Number(v));

function RulesForm({ initial }: { initial: Settings }) {
  const qc = useQueryClient();
  const [mode, setMode] = useState<Mode>(initial.expiry.mode);
  const [days, setDays] = useState<number | string>(initial.expiry.days ?? 365);
  const [message, setMessage] = useState(initial.defaultCustomerMessage ?? '');
  const [notifyEmail, setNotifyEmail] = useState(initial.notifyEmail ?? '');
  const [pointValue, setPointValue] = useState<number | string>(initial.pointValue ?? '');
  const [agentLimit, setAgentLimit] = useState<number | string>(initial.agentPointLimit ?? '');
  const [preview, setPreview] = useState<{ customers: number; points: number } | null>(null);
  const expiry = { mode, days: mode === 'none' ? null : Number(days) };
  const expiryChanged = mode !== initial.expiry.mode || (mode !== 'none' && Number(days) !== initial.expiry.days);
  const body = () => ({ expiry, defaultCustomerMessage: orNull(message), notifyEmail: orNull(notifyEmail), pointValue: numOrNull(pointValue), agentPointLimit: numOrNull(agentLimit) });
  const dryRun = useMutation({
    mutationFn: () => call(api.PATCH('/v1/settings', { params: { query: { dryRun: true } }, body: { expiry } })),
    onSuccess: (r) => r.preview && setPreview(r.preview),
  });
  const save = useMutation({
    mutationFn: () => call(api.PATCH('/v1/settings', { body: body() })),
    onSuccess: (r) => {
      setPreview(null);
      if (r.settings) qc.setQueryData(['settings'], r.settings);
      notifyDone('Points rules saved');
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (expiryChanged) dryRun.mutate();
    else save.mutate();
  };
  const error = dryRun.error ?? (preview ? null : save.error);
  return (
    <form onSubmit={submit}>
      <Stack maw={640}>
        <Stack gap={4}>
          <Text fw={500} size="sm" id="expiry-label">
            Point expiry
          </Text>
          <SegmentedControl aria-labelledby="expiry-label" value={mode} onChange={(v) => setMode(v as Mode)} data={MODES} />
        </Stack>
        {mode !== 'none' && (
          <NumberInput
            label={mode === 'per_credit' ? 'Days until credited points expire' : 'Days without activity before the balance expires'}
            required
            min={1}
            max={3650}
            allowDecimal={false}
            allowNegative={false}
            value={days}
            onChange={setDays}
          />
        )}
        <Text size="sm" c="dimmed" data-testid="expiry-rule">
          {expiryText({ mode, days: Number(days) })}. {expiryChanged ? 'Saving shows what the first expiry run under the new rule would expire.' : ''}
        </Text>
        <Textarea label="Default customer message" description="Prefilled as the customer comment of an adjustment" value={message} onChange={(e) => setMessage(e.currentTarget.value)} />
        <TextInput label="Notify e-mail" type="email" description="Where job summaries are sent" value={notifyEmail} onChange={(e) => setNotifyEmail(e.currentTarget.value)} />
        <NumberInput label="Point value" description="What one point is worth, for the liability in reports" min={0} decimalScale={4} allowNegative={false} value={pointValue} onChange={setPointValue} />
        <NumberInput label="Agent point limit" description="The most points an agent may move in one adjustment or reward (1,000 when empty)" min={0} allowDecimal={false} allowNegative={false} thousandSeparator value={agentLimit} onChange={setAgentLimit} />
        <ErrorAlert error={error} />
        <Group>
          <Button type="submit" loading={dryRun.isPending || (save.isPending && !preview)}>
            Save points rules
          </Button>
        </Group>
      </Stack>
      {preview && (
        <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened onClose={() => setPreview(null)} title="Change the expiry rule?" centered>
          <Stack>
            <Text>{expiryText(expiry)}.</Text>
            <Text data-testid="expiry-preview">
              The first expiry run under this rule would expire <strong>{fmtNumber(preview.points)} points</strong> from <strong>{fmtNumber(preview.customers)} customers</strong>.
            </Text>
            {preview.points > 0 && <Alert color="orange">Expired points leave the customers' balances. They expire at the next expiry run (hourly).</Alert>}
            <ErrorAlert error={save.error} />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setPreview(null)}>
                Back
              </Button>
              <Button color={preview.points > 0 ? 'red' : undefined} loading={save.isPending} onClick={() => save.mutate()}>
                Save the new rule
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
    </form>
  );
}
