import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  headers: Record<string, string>;
  body: string;
  /** The event as the standardwebhooks library verified it, or null if no secret verified it. */
  verified: unknown;
  status: number;
}

/**
 * A local webhook receiver that verifies each request with the `standardwebhooks` package
 * (which also rejects stale timestamps) against the secrets it is given, answering 400 when none
 * verifies, `failWith` to the next `failures` requests, and 204 otherwise; the next `late`
 * requests get their answer only after `lateMs`.
 */
export async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  secrets: string[];
  failures: number;
  failWith: number;
  hang: boolean;
  late: number;
  lateMs: number;
  close(): Promise<void>;
}> {
  const state = {
    url: '',
    received: [] as Received[],
    secrets: [] as string[],
    failures: 0,
    failWith: 500,
    hang: false,
    late: 0,
    lateMs: 0,
    close: async () => undefined as void,
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified: unknown = null;
      for (const secret of state.secrets) {
        try {
          verified = new Webhook(secret).verify(body, headers);
          break;
        } catch {
          // not this secret
        }
      }
      const status = state.hang ? 0 : verified === null ? 400 : state.failures > 0 ? state.failWith : 204;
      if (state.failures > 0 && verified !== null) state.failures -= 1;
      state.received.push({ id: headers['webhook-id'], headers, body, verified, status });
      if (state.hang) return; // never answers
      const answer = () => {
        res.statusCode = status;
        res.end(status === 204 ? undefined : 'receiver says no');
      };
      if (state.late > 0) {
        state.late -= 1;
        setTimeout(answer, state.lateMs);
      } else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  state.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return state;
}
