/** Owner e-mail for an auto-disabled webhook, through SMTP_URL (nodemailer). */
import nodemailer, { type Transporter } from "nodemailer";

export interface DisabledMail {
  to: string[];
  projectId: string;
  webhookName: string;
  webhookUrl: string;
  message: string;
  link: string;
}

export class Mailer {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(smtpUrl);
  }

  async sendDisabled(m: DisabledMail): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: m.to,
      subject: `[Hookline] Webhook "${m.webhookName}" was disabled after repeated failures`,
      text: [
        m.message,
        "",
        `Project: ${m.projectId}`,
        `Webhook: ${m.webhookName}`,
        `URL: ${m.webhookUrl}`,
        "",
        `Inspect its delivery log and enable it again: ${m.link}`,
      ].join("\n"),
    });
  }

  close(): void {
    this.transport.close();
  }
}
