/**
 * The local dev issuer's `iss`. URL-shaped (the CDK app accepts only URL issuers) and independent of
 * the port, so one token from `npm run token` is trusted by `npm start` and by a LocalStack
 * deployment given the dev issuer's public key. Never resolvable: nothing fetches it.
 */
export const DEV_ISSUER = 'https://dev-issuer.flash-sale.local';
/** The `aud` of the dev issuer's tokens: like any issuer other than Cognito, it must name this API. */
export const DEV_AUDIENCE = 'flash-sale-api';
