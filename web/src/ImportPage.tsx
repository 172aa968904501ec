import { Alert, Button, Group, Paper, Radio, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Dropzone } from '@mantine/dropzone';
import { useMutation } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { previewImport, startImport, type ImportMode, type ImportPreview, type ImportType } from './api/imports';
import { fmtNumber, fmtSigned } from './format';
import { navigate } from './router';
import { ErrorAlert } from './feedback';

const TYPES: { value: ImportType; label: string; help: string }[] = [
  { value: 'add', label: 'Add points', help: 'Adds each row’s points to the customer’s balance (negative to deduct).' },
  { value: 'set', label: 'Set balances', help: 'Moves each balance to the row’s value with one transaction; missing customers are created.' },
  { value: 'history', label: 'Points history', help: 'Brings a points log over from another app: one row per past transaction, with its original time.' },
];
const MAX_MB = 100;
const fileSize = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'kilobyte', maximumFractionDigits: 0 });

/** Upload a CSV, check it with a dry run (errors by line), then import it as a job. */
export function ImportPage() {
  const [file, setFile] = useState<File | null>(null);
  const [type, setType] = useState<ImportType>('add');
  const [mode, setMode] = useState<ImportMode>('partial');
  const [reason, setReason] = useState('');
  const [rejected, setRejected] = useState<string | null>(null);
  const openRef = useRef<() => void>(null);
  // One key per chosen file: a second click on Import replays the first answer instead of importing twice.
  const [idempotencyKey, setKey] = useState(() => crypto.randomUUID());
  const request = file ? { file, type, mode, reason: reason.trim(), idempotencyKey } : undefined;
  const preview = useMutation({ mutationFn: () => previewImport(request!) });
  const start = useMutation({ mutationFn: () => startImport(request!), onSuccess: (job) => navigate(`/jobs/${job.id}`) });
  const changed = () => {
    preview.reset();
    start.reset();
  };
  const check = (e: FormEvent) => {
    e.preventDefault();
    if (request) preview.mutate();
  };
  const result = preview.data;
  const canImport = result && !preview.isPending && result.valid > 0 && !(mode === 'atomic' && result.invalid > 0);
  return (
    <Stack maw={960}>
      <Title order={1}>Import points</Title>
      <Text c="dimmed">
        Upload a CSV with a header row: a column naming the customer (<code>email</code>, <code>externalId</code> or <code>customerId</code>) and
        a <code>points</code> column; optional <code>reason</code>, <code>customerMessage</code> and <code>reference</code>. Nothing is written until you
        import after the check.
      </Text>
      <form onSubmit={check}>
        <Stack>
          <Dropzone
            onDrop={(files) => {
              setFile(files[0] ?? null);
              setRejected(null);
              setKey(crypto.randomUUID());
              changed();
            }}
            onReject={(r) => setRejected(r[0]?.errors[0]?.message ?? 'This file cannot be imported')}
            accept={{ 'text/csv': ['.csv'], 'text/plain': ['.csv', '.txt'], 'application/vnd.ms-excel': ['.csv'] }}
            maxFiles={1}
            maxSize={MAX_MB * 1024 * 1024}
            openRef={openRef}
            activateOnClick={false}
            // A drop target, not a control: the file input gets its label, and the keyboard uses the button inside.
            role="region"
            tabIndex={-1}
            aria-label="CSV file drop zone"
            inputProps={{ 'aria-label': 'CSV file' }}
            multiple={false}
          >
            <Stack align="center" gap={4} py="lg">
              <Text fw={500}>{file ? file.name : 'Drag a CSV file here'}</Text>
              <Text size="sm" c="dimmed">
                {file ? `${fileSize.format(Math.max(1, Math.round(file.size / 1024)))} — drop another file to replace it` : `Comma, semicolon or tab separated; up to ${MAX_MB} MB`}
              </Text>
              <Button variant="default" mt="xs" onClick={() => openRef.current?.()}>
                {file ? 'Choose another file' : 'Choose a file'}
              </Button>
            </Stack>
          </Dropzone>
          {rejected && (
            <Alert color="red" role="alert">
              {rejected}
            </Alert>
          )}
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Select
              label="What the file holds"
              data={TYPES.map(({ value, label }) => ({ value, label }))}
              value={type}
              allowDeselect={false}
              onChange={(v) => {
                setType((v ?? 'add') as ImportType);
                changed();
              }}
              description={TYPES.find((t) => t.value === type)?.help}
            />
            <TextInput
              label="Reason (internal)"
              required
              minLength={3}
              description="Recorded on every row that has none of its own"
              value={reason}
              onChange={(e) => {
                setReason(e.currentTarget.value);
                changed();
              }}
            />
          </SimpleGrid>
          <Radio.Group
            label="Rows with errors"
            value={mode}
            onChange={(v) => {
              setMode(v as ImportMode);
              changed();
            }}
          >
            <Group mt="xs">
              <Radio value="partial" label="Import the valid rows and report the others" />
              <Radio value="atomic" label="Import nothing unless every row is valid" />
            </Group>
          </Radio.Group>
          <Group>
            <Button type="submit" disabled={!file} loading={preview.isPending}>
              Check the file
            </Button>
          </Group>
        </Stack>
      </form>
      <ErrorAlert error={preview.error} />
      {result && <PreviewView preview={result} />}
      {result && (
        <Group>
          <Button onClick={() => start.mutate()} disabled={!canImport} loading={start.isPending}>
            {mode === 'atomic' ? `Import all ${fmtNumber(result.rows)} rows` : `Import ${fmtNumber(result.valid)} valid rows`}
          </Button>
          {mode === 'atomic' && result.invalid > 0 && <Text size="sm">Fix the rows above, or choose to import the valid rows only.</Text>}
        </Group>
      )}
      <ErrorAlert error={start.error} />
    </Stack>
  );
}

function PreviewView({ preview }: { preview: ImportPreview }) {
  const stats: [string, string][] = [
    ['Rows', fmtNumber(preview.rows)],
    ['Valid', fmtNumber(preview.valid)],
    ['With errors', fmtNumber(preview.invalid)],
    ['Net points', fmtSigned(preview.totalPoints)],
    ['Tier ups', fmtNumber(preview.tierUps)],
    ['Tier downs', fmtNumber(preview.tierDowns)],
  ];
  // Rows with a future availableAt: pending credits, in no balance (nor the net points) until they mature.
  if (preview.pendingPoints > 0) stats.splice(4, 0, ['Pending points', fmtNumber(preview.pendingPoints)]);
  return (
    <Stack>
      <Title order={2} size="h3">
        Check result
      </Title>
      <SimpleGrid cols={{ base: 3, md: 6 }} role="list" aria-label="Dry run">
        {stats.map(([label, value]) => (
          <Paper withBorder p="sm" key={label} role="listitem">
            <Text size="sm" c="dimmed">
              {label}
            </Text>
            <Text fw={700} size="lg">
              {value}
            </Text>
          </Paper>
        ))}
      </SimpleGrid>
      {preview.errors.length === 0 ? (
        <Text>Every row is valid.</Text>
      ) : (
        <>
          <Text size="sm">
            {preview.invalid > preview.errors.length ? `The first ${fmtNumber(preview.errors.length)} of ${fmtNumber(preview.invalid)} rows with errors; ` : ''}
            line 1 is the header, as a spreadsheet numbers it.
          </Text>
          <Table.ScrollContainer minWidth={600}>
            <Table striped aria-label="Rows with errors">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th ta="right">Line</Table.Th>
                  <Table.Th>Column</Table.Th>
                  <Table.Th>Code</Table.Th>
                  <Table.Th>Message</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {preview.errors.map((e, i) => (
                  <Table.Tr key={i}>
                    <Table.Td ta="right">{e.line}</Table.Td>
                    <Table.Td>{e.column ?? '—'}</Table.Td>
                    <Table.Td>
                      <code>{e.code}</code>
                    </Table.Td>
                    <Table.Td>{e.message}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      )}
    </Stack>
  );
}
