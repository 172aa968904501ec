import type { Job } from '../domain/jobs.js';

/** One message, from the template of its kind: a subject, a plain-text and an HTML body. */
export interface Message {
  subject: string;
  text: string;
  html: string;
}

export type NotificationKind = 'job_finished' | 'customer_adjustment' | 'webhook_disabled';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Plain lines as text, and the same lines as an HTML page (every value escaped). */
function render(subject: string, lines: string[], link?: { label: string; href: string }): Message {
  const text = [...lines, ...(link ? [`${link.label}: ${link.href}`] : [])].join('\n');
  const body = lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('');
  const anchor = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : '';
  const html = `<!doctype html><html><body style="font-family:sans-serif">${body}${anchor}</body></html>`;
  return { subject, text, html };
}

const KIND_NAMES: Record<string, string> = { bulk_adjustment: 'Bulk adjustment', import: 'Import', revert: 'Revert' };

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A bulk, import or revert job ended: counts, time taken, and the error report. */
export function jobFinishedMessage(storeName: string, job: Job, baseUrl: string): Message {
  const name = KIND_NAMES[job.kind] ?? job.kind;
  const took = job.startedAt && job.finishedAt ? duration(Date.parse(job.finishedAt) - Date.parse(job.startedAt)) : 'unknown';
  const lines = [
    `${name} job ${job.id} of ${storeName} ${job.status === 'completed' ? 'completed' : 'failed'}.`,
    `Processed: ${job.processed} of ${job.total}. Succeeded: ${job.succeeded}. Skipped: ${job.skipped}. Failed: ${job.failed}.`,
    `Points moved: ${job.totalPoints}.`,
    `Time taken: ${took}.`,
    ...(job.error ? [`Error: ${job.error}`] : []),
  ];
  const subject = `[${storeName}] ${name} job ${job.id} ${job.status}`;
  return render(subject, lines, { label: 'Error report', href: `${baseUrl.replace(/\/$/, '')}/v1/jobs/${job.id}/errors.csv` });
}

/** A customer's points were adjusted and the request asked to tell them: the customer-facing message only. */
export function customerAdjustmentMessage(
  storeName: string,
  c: { firstName: string | null; points: number; balanceAfter: number; customerMessage: string | null },
): Message {
  const change = c.points > 0 ? `${c.points} points were added to your account` : `${-c.points} points were deducted from your account`;
  const lines = [
    `Hello${c.firstName ? ` ${c.firstName}` : ''},`,
    `${change}. Your balance is now ${c.balanceAfter} points.`,
    ...(c.customerMessage ? [c.customerMessage] : []),
    `— ${storeName}`,
  ];
  return render(`${storeName}: your points balance changed`, lines);
}

/** An endpoint failed for about a day and was turned off. */
export function webhookDisabledMessage(storeName: string, url: string, reason: string): Message {
  return render(`[${storeName}] webhook endpoint disabled`, [
    `Tally disabled the webhook endpoint ${url} of ${storeName}: ${reason}.`,
    'Fix the receiver, then enable it again (PATCH /v1/webhooks/{id} {"enabled": true}); pending deliveries resume.',
  ]);
}
