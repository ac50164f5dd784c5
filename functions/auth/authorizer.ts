import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { verifierFromConfig } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { logger } from '../../shared/observability.ts';

const { auth } = loadConfig('authorizer');
const verify = verifierFromConfig(auth);

/**
 * TOKEN authorizer. The policy allows every method of the API (so API Gateway may cache it per
 * token); what a caller may do is decided by the route from the context: userId and admin. The
 * context also carries the token's `exp`, so a cache of this answer (the local runtime's; API
 * Gateway's TTL is set no longer than tokens live) never outlives the token.
 */
export const handler = middy<APIGatewayTokenAuthorizerEvent, APIGatewayAuthorizerResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const principal = await verify(event.authorizationToken);
    // API Gateway answers 401 for exactly this error message.
    if (!principal) throw new Error('Unauthorized');
    const [arn, stage] = event.methodArn.split('/');
    return {
      principalId: principal.userId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arn}/${stage}/*` }],
      },
      context: { userId: principal.userId, admin: String(principal.admin), exp: principal.exp },
    };
  });
