import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, hostOf, isPrivateAddress } from './address-guard.js';

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Only this much of a receiver's answer is read (kept as the error text of a failure). */
export const RESPONSE_CAP_BYTES = 4096;

export interface SendResult {
  ok: boolean;
  responseStatus: number | null;
  error: string | null;
  durationMs: number;
}

export interface SendOptions {
  allowPrivate: boolean;
  timeoutMs?: number;
}

/**
 * POSTs one signed event. Redirects are not followed (a 3xx is a failure), the whole exchange is
 * bounded by the timeout, and the answer is read up to RESPONSE_CAP_BYTES then dropped.
 * Never throws: every outcome is a SendResult.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, opts: SendOptions): Promise<SendResult> {
  const started = Date.now();
  const done = (ok: boolean, responseStatus: number | null, error: string | null): SendResult => ({
    ok, responseStatus, error, durationMs: Date.now() - started,
  });
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve(done(false, null, 'invalid URL'));
    }
    const host = hostOf(target);
    if (!opts.allowPrivate && isIP(host) && isPrivateAddress(host)) {
      return resolve(done(false, null, `address not allowed: ${host} is private`));
    }
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Tally-Webhooks/1', 'content-length': Buffer.byteLength(body), ...headers },
      lookup: opts.allowPrivate ? undefined : guardedLookup,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS} ms`)), opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(done(false, null, err.code === 'EPRIVATE' ? `address not allowed: ${err.message}` : err.message));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 500);
        resolve(done(ok, status, ok ? null : `HTTP ${status}${text ? `: ${text}` : ''}`));
        res.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_CAP_BYTES) chunks.push(chunk.subarray(0, RESPONSE_CAP_BYTES - size));
        size += chunk.length;
        if (size >= RESPONSE_CAP_BYTES) finish();
      });
      res.on('end', finish);
      res.on('error', finish);
    });
    req.end(body);
  });
}
