import { Alert, Badge, Button, Code, Group, Select, Stack, Switch, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from './api/client';
import { canManage } from './api/loyalty';
import { fmtDate } from './format';
import { PointsRules } from './settings/PointsRules';
import { RewardsSettings } from './settings/RewardsSettings';
import { TiersSettings } from './settings/TiersSettings';
import { WebhooksSettings } from './settings/WebhooksSettings';

const ROLES = ['owner', 'admin', 'agent', 'viewer'] as const;
type Role = (typeof ROLES)[number];

const TABS = ['tiers', 'rewards', 'rules', 'webhooks', 'staff'] as const;
type Tab = (typeof TABS)[number];
const tabFromUrl = (): Tab => {
  const t = new URLSearchParams(window.location.search).get('tab');
  return (TABS as readonly string[]).includes(t ?? '') ? (t as Tab) : 'tiers';
};

/**
 * Settings, one tab each: tiers, rewards, points rules (expiry, messages, point value, agent limit), webhooks
 * (endpoints and their delivery log), and staff
 * users (invite with a one-time password, change role, deactivate) with API keys (shown once, revoke).
 * The tab is kept in the URL (?tab=) so a reload or a link lands on it.
 */
export function SettingsPage({ me }: { me: number }) {
  const role = useQueryClient().getQueryData<{ user: { role: string } }>(['session'])?.user.role;
  const editable = canManage(role);
  const [tab, setTab] = useState<Tab>(tabFromUrl);
  const choose = (v: string | null) => {
    const t = (v ?? 'tiers') as Tab;
    setTab(t);
    window.history.replaceState(null, '', t === 'tiers' ? window.location.pathname : `?tab=${t}`);
  };
  return (
    <Stack gap="lg">
      <Title order={1}>Settings</Title>
      <Tabs value={tab} onChange={choose} keepMounted={false}>
        <Tabs.List aria-label="Settings sections">
          <Tabs.Tab value="tiers">Tiers</Tabs.Tab>
          <Tabs.Tab value="rewards">Rewards</Tabs.Tab>
          <Tabs.Tab value="rules">Points rules</Tabs.Tab>
          {editable && <Tabs.Tab value="webhooks">Webhooks</Tabs.Tab>}
          {editable && <Tabs.Tab value="staff">Staff and API keys</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="tiers" pt="md">
          <TiersSettings canEdit={editable} />
        </Tabs.Panel>
        <Tabs.Panel value="rewards" pt="md">
          <RewardsSettings canEdit={editable} />
        </Tabs.Panel>
        <Tabs.Panel value="rules" pt="md">
          <PointsRules canEdit={editable} />
        </Tabs.Panel>
        {editable && (
          <Tabs.Panel value="webhooks" pt="md">
            <WebhooksSettings />
          </Tabs.Panel>
        )}
        {editable && (
          <Tabs.Panel value="staff" pt="md">
            <Stack gap="xl">
              <StaffUsers me={me} />
              <ApiKeys />
            </Stack>
          </Tabs.Panel>
        )}
      </Tabs>
    </Stack>
  );
}

function StaffUsers({ me }: { me: number }) {
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: () => call(api.GET('/v1/users')) });
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('agent');
  const [oneTime, setOneTime] = useState<{ email: string; password: string } | null>(null);
  const invite = useMutation({
    mutationFn: () => call(api.POST('/v1/users', { body: { email, role, ...(name ? { name } : {}) } })),
    onSuccess: (r) => {
      setOneTime(r.oneTimePassword ? { email: r.user.email, password: r.oneTimePassword } : null);
      setEmail('');
      setName('');
      qc.invalidateQueries({ queryKey: ['users'] });
    },
  });
  const change = useMutation({
    mutationFn: (v: { id: number; role?: Role; active?: boolean }) => call(api.PATCH('/v1/users/{id}', { params: { path: { id: v.id } }, body: { role: v.role, active: v.active } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ['users'] }),
  });
  return (
    <Stack>
      <Title order={2} size="h3">
        Staff users
      </Title>
      {users.isError && <Alert color="red">{users.error.message}</Alert>}
      <Table.ScrollContainer minWidth={600}>
        <Table aria-label="Staff users">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>E-mail</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Active</Table.Th>
              <Table.Th>Added</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(users.data?.data ?? []).map((u) => (
              <Table.Tr key={u.id}>
                <Table.Td>{u.email}</Table.Td>
                <Table.Td>{u.name}</Table.Td>
                <Table.Td>
                  <Select aria-label={`Role of ${u.email}`} data={[...ROLES]} value={u.role} disabled={u.id === me} onChange={(v) => v && change.mutate({ id: u.id, role: v as Role })} w={120} />
                </Table.Td>
                <Table.Td>
                  <Switch aria-label={`${u.email} active`} checked={u.active} disabled={u.id === me} onChange={(e) => change.mutate({ id: u.id, active: e.currentTarget.checked })} />
                </Table.Td>
                <Table.Td>{fmtDate(u.createdAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {change.error && <Alert color="red">{change.error.message}</Alert>}
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          invite.mutate();
        }}
      >
        <Group align="flex-end" wrap="wrap">
          <TextInput label="E-mail of the new staff member" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} w={260} />
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} w={180} />
          <Select label="Role" data={[...ROLES]} value={role} onChange={(v) => v && setRole(v as Role)} w={120} allowDeselect={false} />
          <Button type="submit" loading={invite.isPending}>
            Add staff member
          </Button>
        </Group>
      </form>
      {invite.error && <Alert color="red">{invite.error.message}</Alert>}
      {oneTime && (
        <Alert color="blue" title="One-time password (shown once)">
          Give {oneTime.email} this password: <Code>{oneTime.password}</Code>
        </Alert>
      )}
    </Stack>
  );
}

function ApiKeys() {
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => call(api.GET('/v1/api-keys')) });
  const [name, setName] = useState('');
  const [role, setRole] = useState<'admin' | 'agent' | 'viewer'>('admin');
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => call(api.POST('/v1/api-keys', { body: { name, role } })),
    onSuccess: (r) => {
      setCreated(r.key);
      setName('');
      qc.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: number) => call(api.POST('/v1/api-keys/{id}/revoke', { params: { path: { id } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  const rows = keys.data?.data ?? [];
  return (
    <Stack>
      <Title order={2} size="h3">
        API keys
      </Title>
      {rows.length === 0 ? (
        <Text c="dimmed">No API keys yet. Create one for a storefront integration or a script.</Text>
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table aria-label="API keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Prefix</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((k) => (
                <Table.Tr key={k.id}>
                  <Table.Td>{k.name}</Table.Td>
                  <Table.Td>
                    <Code>{k.prefix}…</Code>
                  </Table.Td>
                  <Table.Td>{k.role}</Table.Td>
                  <Table.Td>{fmtDate(k.createdAt)}</Table.Td>
                  <Table.Td>
                    {k.revokedAt ? (
                      <Badge variant="dot" color="gray">
                        revoked {fmtDate(k.revokedAt)}
                      </Badge>
                    ) : (
                      <Button size="compact-sm" color="red" variant="outline" onClick={() => revoke.mutate(k.id)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Group align="flex-end" wrap="wrap">
          <TextInput label="Key name" required value={name} onChange={(e) => setName(e.currentTarget.value)} w={240} />
          <Select label="Key role" data={['admin', 'agent', 'viewer']} value={role} onChange={(v) => v && setRole(v as 'admin' | 'agent' | 'viewer')} w={120} allowDeselect={false} />
          <Button type="submit" loading={create.isPending}>
            Create API key
          </Button>
        </Group>
      </form>
      {create.error && <Alert color="red">{create.error.message}</Alert>}
      {created && (
        <Alert color="blue" title="New API key (shown once: copy it now)">
          <Code data-testid="new-api-key">{created}</Code>
        </Alert>
      )}
    </Stack>
  );
}
