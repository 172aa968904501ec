import { Table, Text } from '@mantine/core';
import { fmtDate, fmtNumber } from '../format';

/** The points that expire in the next 30 days, one row per day, soonest first (GET /v1/customers/{id}'s `expiring`). */
export function ExpiringPoints({ expiring }: { expiring: { points: number; expiresAt: string }[] }) {
  if (expiring.length === 0) return <Text c="dimmed">No points expire in the next 30 days.</Text>;
  return (
    <Table striped aria-label="Expiring points" maw={480}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Expires</Table.Th>
          <Table.Th ta="right">Points</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {expiring.map((e) => (
          <Table.Tr key={e.expiresAt}>
            <Table.Td>{fmtDate(e.expiresAt)}</Table.Td>
            <Table.Td ta="right">{fmtNumber(e.points)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
