import { escapeCsvCell } from '../domain/csv-cell.js';
import type { Actor } from '../domain/types.js';
import type { PointsReport } from '../domain/report-periods.js';

const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);

function actorLabel(a: Actor): string {
  return a.type === 'system' ? a.name : `${a.name} (${a.type} ${a.id ?? ''})`.replace(' )', ')');
}

/**
 * The points report as CSV records, one per period: the totals, then a credited and a debited
 * column for each type and each actor that appears anywhere in the report (0 where a period has
 * none). Actor names are user text, so header cells are made formula-safe too.
 */
export function reportCsvRecords(report: PointsReport): (string | number)[][] {
  const types = [...new Set(report.data.flatMap((p) => Object.keys(p.byType)))].sort();
  const actors = new Map<string, string>();
  for (const p of report.data) for (const f of p.byActor) actors.set(JSON.stringify(f.actor), actorLabel(f.actor));
  const actorKeys = [...actors.keys()].sort((a, b) => actors.get(a)!.localeCompare(actors.get(b)!));
  const header = [
    'periodStart',
    'periodEnd',
    'openingBalance',
    'credited',
    'debited',
    'closingBalance',
    'liability',
    ...types.flatMap((t) => [`${t} credited`, `${t} debited`]),
    ...actorKeys.flatMap((k) => [`${actors.get(k)} credited`, `${actors.get(k)} debited`]),
  ];
  const records = report.data.map((p) => {
    const flows = Object.values(p.byType);
    const byActor = new Map(p.byActor.map((f) => [JSON.stringify(f.actor), f]));
    return [
      p.periodStart,
      p.periodEnd,
      p.openingBalance,
      sum(flows.map((f) => f.credited)),
      sum(flows.map((f) => f.debited)),
      p.closingBalance,
      p.liability ?? '',
      ...types.flatMap((t) => [p.byType[t]?.credited ?? 0, p.byType[t]?.debited ?? 0]),
      ...actorKeys.flatMap((k) => [byActor.get(k)?.credited ?? 0, byActor.get(k)?.debited ?? 0]),
    ];
  });
  return [header.map(escapeCsvCell), ...records];
}
