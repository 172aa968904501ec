import type { FastifyReply, FastifyRequest } from 'fastify';
import { FINAL_STATUSES, type Job } from '../domain/jobs.js';

const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

/** Open event streams, ended when the server shuts down (they would otherwise hold it open). */
const open = new Set<() => void>();

export function closeEventStreams(): void {
  for (const end of open) end();
}

/**
 * Streams a job as Server-Sent Events: its state now, then one event per change, ending after a
 * final status. Progress is read from the job row, so it works whichever process or machine runs
 * the job.
 */
export async function streamJobEvents(
  req: FastifyRequest,
  reply: FastifyReply,
  first: Job,
  read: () => Promise<Job>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': String(req.id),
  });
  let closed = false;
  const end = () => {
    closed = true;
  };
  open.add(end);
  req.raw.on('close', end);
  const send = (job: Job) => res.write(`id: ${job.processed}\nevent: job\ndata: ${JSON.stringify(job)}\n\n`);
  let last = JSON.stringify(first);
  send(first);
  let quietSince = Date.now();
  let job = first;
  while (!closed && !FINAL_STATUSES.has(job.status)) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    try {
      job = await read();
    } catch (err) {
      req.log.error({ err }, 'job events: read failed');
      break;
    }
    const now = JSON.stringify(job);
    if (now !== last) {
      last = now;
      send(job);
      quietSince = Date.now();
    } else if (Date.now() - quietSince > HEARTBEAT_MS) {
      res.write(': keep-alive\n\n');
      quietSince = Date.now();
    }
  }
  open.delete(end);
  res.end();
}
