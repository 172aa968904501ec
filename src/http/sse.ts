import type { FastifyReply, FastifyRequest } from 'fastify';
import { FINAL_STATUSES, type Job } from '../domain/jobs.js';

const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

export interface JobEventStreams {
  /**
   * Streams a job as Server-Sent Events: its state now, then one event per change, ending after
   * a final status. Progress is read from the job row, so it works whichever process or machine
   * runs the job.
   */
  stream(req: FastifyRequest, reply: FastifyReply, first: Job, read: () => Promise<Job>): Promise<void>;
  /** Ends every open stream (at shutdown: they would otherwise hold the server open). */
  closeAll(): void;
}

export function jobEventStreams(): JobEventStreams {
  const open = new Set<() => void>();
  return {
    closeAll: () => {
      for (const end of open) end();
    },
    async stream(req, reply, first, read) {
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
    },
  };
}
