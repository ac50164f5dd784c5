import { type FunctionKey, type FunctionSpec, functionSpecs } from '../shared/wiring.ts';
import { AUTHORIZER_FUNCTION, type Settings } from './settings.ts';

/**
 * API Gateway's own Cognito user-pool authorizer guards the routes when the issuer is the stack's
 * pool (no function per request); other OIDC issuers need the TOKEN authorizer function, and the
 * localstack target has neither (routes verify the bearer themselves).
 */
export function usesCognitoAuthorizer(settings: Pick<Settings, 'target' | 'jwtIssuer'>): boolean {
  return settings.target === 'aws' && settings.jwtIssuer === undefined;
}

export function usesTokenAuthorizer(settings: Pick<Settings, 'target' | 'jwtIssuer'>): boolean {
  return settings.target === 'aws' && settings.jwtIssuer !== undefined;
}

/** The wiring functions a stack with these settings deploys: all but an authorizer nobody calls. */
export function deployedFunctions(
  settings: Pick<Settings, 'target' | 'jwtIssuer'>,
): [FunctionKey, FunctionSpec][] {
  return (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).filter(
    ([key]) => key !== AUTHORIZER_FUNCTION || usesTokenAuthorizer(settings),
  );
}
