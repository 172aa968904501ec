import { Alert, Button, Code, Group, Modal, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiFailure, call, type Customer } from '../api/client';
import { rewardValueText, type Coupon } from '../api/loyalty';
import { fmtNumber } from '../format';

/** Give reward: pick a reward, deduct its cost or give it free, with a reason; the coupon code is shown once issued. */
export function GiveRewardDialog({ customer, onClose }: { customer: Customer; onClose: () => void }) {
  const qc = useQueryClient();
  const rewards = useQuery({ queryKey: ['rewards', 'active'], queryFn: () => call(api.GET('/v1/rewards', { params: { query: { active: true, limit: 500 } } })) });
  const [rewardId, setRewardId] = useState<string | null>(null);
  const [deduct, setDeduct] = useState<'deduct' | 'free'>('deduct');
  const [reason, setReason] = useState('');
  const [tried, setTried] = useState(false);
  const [issued, setIssued] = useState<{ coupon: Coupon; balance: number } | null>(null);
  const reward = rewards.data?.data.find((r) => String(r.id) === rewardId);
  const short = deduct === 'deduct' && reward !== undefined && reward.pointsCost > customer.balance;
  const give = useMutation({
    mutationFn: () => call(api.POST('/v1/customers/{id}/rewards', { params: { path: { id: customer.id } }, body: { rewardId: Number(rewardId), deductPoints: deduct === 'deduct', reason: reason.trim() } })),
    onSuccess: (r) => {
      qc.setQueryData(['customer', customer.id], (old: object | undefined) => (old ? { ...old, ...r.customer } : old));
      qc.invalidateQueries({ queryKey: ['customer', customer.id] });
      qc.invalidateQueries({ queryKey: ['coupons', customer.id] });
      qc.invalidateQueries({ queryKey: ['history', customer.id] });
      qc.invalidateQueries({ queryKey: ['customers'] });
      setIssued({ coupon: r.coupon, balance: r.customer.balance });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!rewardId || reason.trim().length < 3 || short) return;
    give.mutate();
  };
  const err = give.error instanceof ApiFailure ? give.error : undefined;
  const insufficient = short || err?.code === 'insufficient_points';
  const rewardError = tried && !rewardId ? 'Pick a reward' : insufficient ? `Not enough points: the balance is ${fmtNumber(customer.balance)}, this reward costs ${fmtNumber(reward?.pointsCost)}. Give it free, or pick another.` : null;
  const options = (rewards.data?.data ?? []).map((r) => ({ value: String(r.id), label: `${r.name} — ${rewardValueText(r)}, ${fmtNumber(r.pointsCost)} points` }));
  return (
    <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened onClose={onClose} title="Give reward" centered>
      {issued ? (
        <Stack>
          <Text>Coupon issued for {issued.coupon.rewardName}:</Text>
          <Code block fz="lg" data-testid="coupon-code">
            {issued.coupon.code}
          </Code>
          <Text size="sm">
            Balance is now <strong>{fmtNumber(issued.balance)}</strong>.
          </Text>
          <Group justify="flex-end">
            <Button onClick={onClose} data-autofocus>
              Done
            </Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit} noValidate>
          <Stack>
            {rewards.isSuccess && options.length === 0 ? (
              <Text c="dimmed">No active rewards. An owner or admin adds them in Settings → Rewards.</Text>
            ) : (
              <Select label="Reward" required searchable data={options} value={rewardId} onChange={setRewardId} error={rewardError} data-autofocus />
            )}
            <SegmentedControl
              aria-label="Deduct points or give free"
              value={deduct}
              onChange={(v) => setDeduct(v as 'deduct' | 'free')}
              data={[
                { value: 'deduct', label: reward ? `Deduct ${fmtNumber(reward.pointsCost)} points` : 'Deduct its cost' },
                { value: 'free', label: 'Give free' },
              ]}
            />
            <TextInput label="Reason" required value={reason} onChange={(e) => setReason(e.currentTarget.value)} error={tried && reason.trim().length < 3 ? 'Give a reason of at least 3 characters' : null} />
            {reward && deduct === 'deduct' && !insufficient && (
              <Text size="sm" aria-live="polite">
                New balance: <strong>{fmtNumber(customer.balance - reward.pointsCost)}</strong> (now {fmtNumber(customer.balance)})
              </Text>
            )}
            {give.error && !insufficient && (
              <Alert color="red" role="alert">
                {give.error.message}
              </Alert>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" loading={give.isPending} disabled={short}>
                Give reward
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
