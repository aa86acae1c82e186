/** An email to people: plain text always, HTML optional. */
export interface Email {
  to: string[];
  subject: string;
  text: string;
  html?: string;
}

/** Sends notification emails (SES in AWS, the outbox stand-in locally). */
export interface Mailer {
  send(email: Email): Promise<void>;
}
