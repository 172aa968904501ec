import nodemailer from 'nodemailer';
import type { Message } from './templates.js';

export interface Mailer {
  send(to: string, message: Message): Promise<void>;
  close(): void;
}

/**
 * An SMTP mailer from SMTP_URL (`smtp://user:pass@host:port`, `smtps://…`) and SMTP_FROM, or
 * undefined without SMTP_URL: notifications are then kept and listed, not sent.
 * It can throw: Error naming SMTP_URL when the value cannot be used.
 */
export function mailerFromEnv(env = process.env): Mailer | undefined {
  const url = env.SMTP_URL;
  if (!url) return undefined;
  if (!/^smtps?:\/\//.test(url)) throw new Error(`SMTP_URL must be an smtp:// or smtps:// URL (got ${url.replace(/\/\/[^@/]*@/, '//')})`);
  const from = env.SMTP_FROM || 'Tally <tally@localhost>';
  const transport = nodemailer.createTransport(url);
  return {
    async send(to, message) {
      await transport.sendMail({ from, to, subject: message.subject, text: message.text, html: message.html });
    },
    close: () => transport.close(),
  };
}
