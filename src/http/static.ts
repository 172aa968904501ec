import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** The built admin app (vite writes it here); absent until `npm run build`. */
export const WEB_DIST = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../web/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

async function fileAt(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = resolve(join(root, decoded));
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  try {
    return (await stat(path)).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves the admin app at `/` with no key: files under web/dist, and index.html for any other GET
 * outside /v1 (the app's own routes). /v1, /healthz and /openapi.json keep their handlers; an unknown
 * /v1 path still answers the JSON 404.
 */
export function registerStatic(app: FastifyInstance, root = WEB_DIST): void {
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const urlPath = (req.url.split('?')[0] ?? '/');
    if (urlPath === '/v1' || urlPath.startsWith('/v1/')) return reply.callNotFound();
    const file = (urlPath !== '/' && (await fileAt(root, urlPath))) || (await fileAt(root, '/index.html'));
    if (!file) return reply.callNotFound();
    const isAsset = file.includes(`${sep}assets${sep}`);
    return reply
      .header('content-type', TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', isAsset ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(createReadStream(file));
  });
}
