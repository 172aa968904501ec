import { AppShell, Burger, Button, Center, Checkbox, Container, Group, Loader, NavLink, NumberInput, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState, type FormEvent } from 'react';
import { api, ApiFailure, call, setCsrfToken } from './api/client';
import { CustomerPage } from './CustomerPage';
import { CustomersPage } from './CustomersPage';
import { JobPage, JobsPage } from './JobsPage';
import { ImportPage } from './ImportPage';
import { QuickAdjust } from './QuickAdjust';
import { navigate, usePath } from './router';
import { SettingsPage } from './SettingsPage';
import { TransactionsPage } from './TransactionsPage';
import { ErrorAlert } from './feedback';

type Session = { user: { id: number; email: string; name: string; role: string }; store: { id: number; name: string }; csrfToken: string };

// The charts library is most of the bundle's weight: the Reports screen loads it when opened.
const ReportsPage = lazy(() => import('./ReportsPage').then((m) => ({ default: m.ReportsPage })));

async function currentSession(): Promise<Session | null> {
  const { data, response } = await api.GET('/v1/session');
  if (response.status === 401) return null;
  if (!response.ok || !data) throw new ApiFailure(response.status, undefined);
  setCsrfToken(data.csrfToken);
  return data as Session;
}

export function App() {
  const setup = useQuery({ queryKey: ['setup'], queryFn: () => call(api.GET('/v1/setup')) });
  const session = useQuery({ queryKey: ['session'], queryFn: currentSession, enabled: setup.data?.needed === false });
  if (setup.isError || session.isError) throw (setup.error ?? session.error)!;
  if (setup.isPending || (setup.data?.needed === false && session.isPending))
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (setup.data?.needed) return <SetupPage />;
  if (!session.data) return <LoginPage />;
  return <Shell session={session.data} />;
}

function SetupPage() {
  const qc = useQueryClient();
  const [storeName, setStoreName] = useState('');
  const [ownerEmail, setEmail] = useState('');
  const [ownerPassword, setPassword] = useState('');
  const [sample, setSample] = useState(true);
  const [samples, setSamples] = useState<number | string>(50);
  const create = useMutation({
    mutationFn: () =>
      call(api.POST('/v1/setup', { body: { storeName, ownerEmail, ownerPassword, ...(sample ? { sampleCustomers: Number(samples) } : {}) } })),
    onSuccess: (s) => {
      setCsrfToken(s.csrfToken);
      qc.setQueryData(['session'], s);
      qc.setQueryData(['setup'], { needed: false });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Container size={460} py="xl">
      <main>
        <Title order={1} mb="xs">
          Welcome to Tally
        </Title>
        <Text c="dimmed" mb="lg">
          Create your store and its owner account to start.
        </Text>
        <Paper withBorder p="lg" component="form" onSubmit={submit}>
          <Stack>
            <TextInput label="Store name" required value={storeName} onChange={(e) => setStoreName(e.currentTarget.value)} />
            <TextInput label="Owner e-mail" type="email" required value={ownerEmail} onChange={(e) => setEmail(e.currentTarget.value)} />
            <PasswordInput label="Owner password" required description="At least 8 characters" value={ownerPassword} onChange={(e) => setPassword(e.currentTarget.value)} />
            <Checkbox label="Add sample customers" checked={sample} onChange={(e) => setSample(e.currentTarget.checked)} />
            {sample && <NumberInput label="How many sample customers" min={1} max={10000} value={samples} onChange={setSamples} />}
            <ErrorAlert error={create.error} />
            <Button type="submit" loading={create.isPending}>
              Create store
            </Button>
          </Stack>
        </Paper>
      </main>
    </Container>
  );
}

function LoginPage() {
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation({
    mutationFn: () => call(api.POST('/v1/session', { body: { email, password } })),
    onSuccess: (s) => {
      setCsrfToken(s.csrfToken);
      qc.setQueryData(['session'], s);
    },
  });
  return (
    <Container size={420} py="xl">
      <main>
        <Title order={1} mb="lg">
          Log in to Tally
        </Title>
        <Paper
          withBorder
          p="lg"
          component="form"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            login.mutate();
          }}
        >
          <Stack>
            <TextInput label="E-mail" type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <PasswordInput label="Password" required autoComplete="current-password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            <ErrorAlert error={login.error} />
            <Button type="submit" loading={login.isPending}>
              Log in
            </Button>
          </Stack>
        </Paper>
      </main>
    </Container>
  );
}

const NAV: { href: string; label: string; roles?: string[] }[] = [
  { href: '/customers', label: 'Customers' },
  { href: '/transactions', label: 'Transactions' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/reports', label: 'Reports' },
  { href: '/import', label: 'Import', roles: ['owner', 'admin'] },
  { href: '/settings', label: 'Settings', roles: ['owner', 'admin'] },
];

function Shell({ session }: { session: Session }) {
  const qc = useQueryClient();
  const path = usePath();
  const [opened, { toggle, close }] = useDisclosure();
  const logout = useMutation({
    mutationFn: () => call(api.DELETE('/v1/session')),
    onSuccess: () => {
      setCsrfToken(undefined);
      qc.setQueryData(['session'], null);
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' && q.queryKey[0] !== 'setup' });
      navigate('/');
    },
  });
  let page;
  let m: RegExpMatchArray | null;
  if ((m = path.match(/^\/customers\/(\d+)$/))) page = <CustomerPage id={Number(m[1])} />;
  else if ((m = path.match(/^\/jobs\/(\d+)$/))) page = <JobPage id={Number(m[1])} />;
  else if (path === '/jobs') page = <JobsPage />;
  else if (path === '/transactions') page = <TransactionsPage />;
  else if (path === '/reports')
    page = (
      <Suspense fallback={<Loader aria-label="Loading the report" />}>
        <ReportsPage />
      </Suspense>
    );
  else if (path === '/import') page = <ImportPage />;
  else if (path === '/settings') page = <SettingsPage me={session.user.id} />;
  else page = <CustomersPage />;
  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={700}>{session.store.name}</Text>
          </Group>
          <QuickAdjust />
          <Group wrap="nowrap" gap="xs">
            <Text size="sm" visibleFrom="md">
              {session.user.email} ({session.user.role})
            </Text>
            <Button variant="default" size="xs" onClick={() => logout.mutate()} loading={logout.isPending}>
              Log out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {NAV.filter((n) => !n.roles || n.roles.includes(session.user.role)).map((n) => (
          <NavLink
            key={n.href}
            href={n.href}
            label={n.label}
            variant="filled"
            active={path.startsWith(n.href) || (n.href === '/customers' && path === '/')}
            onClick={(e) => {
              e.preventDefault();
              close();
              navigate(n.href);
            }}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <main>{page}</main>
      </AppShell.Main>
    </AppShell>
  );
}
