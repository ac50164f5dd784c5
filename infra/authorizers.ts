import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { type ApiProps, BEARER_TOKEN_PATTERN } from './api.ts';
import { usesCognitoAuthorizer, usesTokenAuthorizer } from './deployed.ts';

/**
 * Who checks bearer tokens before a route runs: API Gateway's own Cognito user-pool authorizer
 * for the stack's pool (no function per request), the TOKEN authorizer function for another
 * OIDC issuer, nobody on the localstack target (routes verify there). Both cache an Allow per
 * token for up to 300 s; the routes refuse a context whose `exp` has passed, so no cached
 * answer outlives its token (shared/http/route.ts).
 */
export function routeAuthorizer(
  scope: Construct,
  props: ApiProps,
): {
  authorizer?: apigw.IAuthorizer;
  guarded: apigw.MethodOptions;
} {
  const { settings } = props;
  if (usesCognitoAuthorizer(settings)) {
    if (!props.userPool) throw new Error('The Cognito authorizer needs the stack user pool');
    const authorizer = new apigw.CognitoUserPoolsAuthorizer(scope, 'CognitoAuthorizer', {
      cognitoUserPools: props.adminPool ? [props.userPool, props.adminPool] : [props.userPool],
      identitySource: apigw.IdentitySource.header('Authorization'),
      resultsCacheTtl: Duration.seconds(300),
    });
    return {
      authorizer,
      guarded: {
        authorizer,
        authorizationType: apigw.AuthorizationType.COGNITO,
        // Access tokens are accepted only for a scope they carry; id tokens need none.
        ...(settings.jwtTokenUse === 'access'
          ? { authorizationScopes: ['aws.cognito.signin.user.admin'] }
          : {}),
      },
    };
  }
  if (usesTokenAuthorizer(settings)) {
    const authorizer = new apigw.TokenAuthorizer(scope, 'JwtAuthorizer', {
      handler: props.functions.invokeTarget(props.authorizer),
      identitySource: apigw.IdentitySource.header('Authorization'),
      validationRegex: BEARER_TOKEN_PATTERN,
      resultsCacheTtl: Duration.seconds(300),
    });
    return { authorizer, guarded: { authorizer, authorizationType: apigw.AuthorizationType.CUSTOM } };
  }
  return { guarded: { authorizationType: apigw.AuthorizationType.NONE } };
}
