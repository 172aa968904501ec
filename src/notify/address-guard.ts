import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) BLOCKED.addSubnet(net, bits, 'ipv6');

/** Loopback, link-local, private, CGNAT, multicast or unspecified (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The reason a URL may not receive webhooks, or null. Only the scheme and form are checked here. */
export function urlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be http or https';
  if (url.username || url.password) return 'must not carry credentials';
  return null;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Resolves the URL's host and says why it may not be used (an address that is private), or null.
 * Checked at creation; sending checks again on the very address it connects to (guardedLookup).
 * `allowPrivate`: the operator's TALLY_ALLOW_PRIVATE_WEBHOOKS (config.allowPrivateWebhooks).
 */
export async function addressProblem(text: string, allowPrivate: boolean): Promise<string | null> {
  if (allowPrivate) return null;
  const host = hostOf(new URL(text));
  if (isIP(host)) return isPrivateAddress(host) ? `resolves to a private address (${host})` : null;
  const addresses = await new Promise<string[]>((resolve) =>
    lookup(host, { all: true }, (err, found) => resolve(err ? [] : found.map((a) => a.address))),
  );
  if (addresses.length === 0) return `host ${host} could not be resolved`;
  const bad = addresses.find(isPrivateAddress);
  return bad ? `resolves to a private address (${bad})` : null;
}

/**
 * A DNS lookup for the HTTP client that refuses private addresses, so a name that resolved to a
 * public address at creation cannot be re-pointed at the internal network later (DNS rebinding).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as unknown as { address: string; family: number }[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(Object.assign(new Error(`${hostname} resolves to a private address (${bad.address})`), { code: 'EPRIVATE' }), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: unknown) => void)(null, list);
    callback(null, list[0].address, list[0].family);
  });
};

export { hostOf };
