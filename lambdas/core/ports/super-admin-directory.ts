/**
 * Who the super admins of an account are, to email them (Cognito's `super-admins`
 * group in AWS, the demo users locally).
 */
export interface SuperAdminDirectory {
  /** The email addresses of the account's enabled super admins. */
  superAdminEmails(accountId: string): Promise<string[]>;
}
