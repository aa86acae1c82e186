#!/usr/bin/env bash
# Creates (or promotes) a super admin of one CRM account in the deployed user pool,
# with the AWS CLI (the Cognito SDK client is not a dependency of this project).
#
#   infra/create-super-admin.sh <email> <accountId> [stage]
#
# Cognito emails a temporary password; at first sign-in the admin sets a password and
# enrols a TOTP authenticator (MFA is required). Run again for an existing user to
# only (re)set accountId and the group.
set -euo pipefail

email="${1:?usage: infra/create-super-admin.sh <email> <accountId> [stage]}"
account_id="${2:?usage: infra/create-super-admin.sh <email> <accountId> [stage]}"
stage="${3:-dev}"

pool_id=$(aws cloudformation describe-stacks --stack-name "CrmBackup-${stage}-Stateful" \
  --query "Stacks[0].Outputs[?OutputKey=='UserPoolId'].OutputValue" --output text)
if [ -z "$pool_id" ] || [ "$pool_id" = "None" ]; then
  echo "No UserPoolId output on stack CrmBackup-${stage}-Stateful: deploy first (README: Deploying to AWS)." >&2
  exit 1
fi

if aws cognito-idp admin-get-user --user-pool-id "$pool_id" --username "$email" >/dev/null 2>&1; then
  aws cognito-idp admin-update-user-attributes --user-pool-id "$pool_id" --username "$email" \
    --user-attributes Name=custom:accountId,Value="$account_id"
  echo "Updated $email: accountId=$account_id"
else
  aws cognito-idp admin-create-user --user-pool-id "$pool_id" --username "$email" \
    --user-attributes Name=email,Value="$email" Name=email_verified,Value=true Name=custom:accountId,Value="$account_id" \
    --desired-delivery-mediums EMAIL >/dev/null
  echo "Created $email (accountId=$account_id); Cognito has emailed a temporary password."
fi
aws cognito-idp admin-add-user-to-group --user-pool-id "$pool_id" --username "$email" --group-name super-admins
echo "$email is a super admin of $account_id."
