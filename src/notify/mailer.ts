import nodemailer from 'nodemailer';
import type { Message } from './templates.js';

export interface Mailer {
  send(to: string, message: Message): Promise<void>;
  close(): void;
}

/** Where e-mail goes: `SMTP_URL` and `SMTP_FROM` as src/config.ts read them. */
export interface SmtpSettings {
  /** `smtp://user:pass@host:port` or `smtps://…`. */
  url: string;
  /** The sender (default `Tally <tally@localhost>`). */
  from?: string;
}

/**
 * An SMTP mailer (nodemailer). Without SMTP settings there is no mailer: notifications are then
 * kept and listed, not sent.
 *
 * @example const mailer = smtpMailer({ url: 'smtp://127.0.0.1:2525', from: 'Tally <tally@shop.example>' })
 * It can throw: Error naming SMTP_URL when the URL is not smtp:// or smtps:// (src/config.ts refuses it first).
 */
export function smtpMailer(smtp: SmtpSettings): Mailer {
  if (!/^smtps?:\/\//.test(smtp.url)) throw new Error('SMTP_URL must be an smtp:// or smtps:// URL');
  const from = smtp.from || 'Tally <tally@localhost>';
  const transport = nodemailer.createTransport(smtp.url);
  return {
    async send(to, message) {
      await transport.sendMail({ from, to, subject: message.subject, text: message.text, html: message.html });
    },
    close: () => transport.close(),
  };
}
