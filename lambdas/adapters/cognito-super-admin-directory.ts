import { ListUsersInGroupCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { SUPER_ADMINS_GROUP } from '#core/caller.ts';
import type { SuperAdminDirectory } from '#core/ports/super-admin-directory.ts';
import { rethrowTransient } from './aws-errors.ts';

/**
 * The super admins of an account in the Cognito user pool: the members of the
 * `super-admins` group whose `custom:accountId` is the account, enabled, with an email.
 * Cognito cannot filter a group's members by a custom attribute, so the group is paged
 * through (60 a page); alerts are rare, and the group holds only super admins.
 */
export class CognitoSuperAdminDirectory implements SuperAdminDirectory {
  private readonly client: CognitoIdentityProviderClient;
  private readonly userPoolId: string;

  constructor(client: CognitoIdentityProviderClient, userPoolId: string) {
    this.client = client;
    this.userPoolId = userPoolId;
  }

  async superAdminEmails(accountId: string): Promise<string[]> {
    const emails: string[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListUsersInGroupCommand({ UserPoolId: this.userPoolId, GroupName: SUPER_ADMINS_GROUP, Limit: 60, NextToken }));
        for (const user of page.Users ?? []) {
          const attribute = (name: string) => user.Attributes?.find((candidate) => candidate.Name === name)?.Value;
          const email = attribute('email');
          if (user.Enabled !== false && attribute('custom:accountId') === accountId && email) emails.push(email);
        }
        NextToken = page.NextToken;
      } while (NextToken);
    } catch (error) {
      rethrowTransient(error, 'The user directory');
    }
    return emails;
  }
}

/** The super admins listed up front: the local runtime's demo users, whom its token issuer signs in. */
export class ListedSuperAdmins implements SuperAdminDirectory {
  private readonly users: ReadonlyArray<{ accountId: string; email: string }>;

  constructor(users: ReadonlyArray<{ accountId: string; email: string }>) {
    this.users = users;
  }

  async superAdminEmails(accountId: string): Promise<string[]> {
    return this.users.filter((user) => user.accountId === accountId).map((user) => user.email);
  }
}
