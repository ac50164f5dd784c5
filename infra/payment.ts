import { SecretValue } from 'aws-cdk-lib';
import { isProd, type Settings } from './settings.ts';

/**
 * Payments in the CDK app: production takes real money, and the Stripe secret key comes from
 * Secrets Manager. The security settings (auth, WAF, IAM) live elsewhere; this file is only these two.
 */

/**
 * Fails synthesis of a prod stage whose payments are simulated: any buyer could send
 * `paymentToken: "tok_ok"` and take the goods without paying.
 */
export function assertRealPaymentsInProd(
  settings: Pick<Settings, 'stage' | 'paymentGateway' | 'allowSimulatedPayments'>,
): void {
  if (isProd(settings) && settings.paymentGateway === 'simulated' && !settings.allowSimulatedPayments)
    throw new Error(
      'Stage prod with the simulated payment gateway gives goods away: any buyer can pay with paymentToken "tok_ok". ' +
        'Deploy with -c paymentGateway=stripe (the secret key in Secrets Manager, docs/DEPLOY.md "Payments"), ' +
        'or pass -c allowSimulatedPayments=true for a prod-like stack that must take no money.',
    );
}

/**
 * The Stripe secret key, for `-c paymentGateway=stripe`: a secret the operator creates once (it
 * is not generated: only Stripe issues keys), read by CloudFormation at deploy time as a dynamic
 * reference, like TOKEN_SIGNING_KEY. A missing secret fails the deploy, not a charge. Functions
 * need no IAM grant for it: CloudFormation reads it with the deployer's credentials.
 */
export function stripeSecretKey(settings: Settings): SecretValue | undefined {
  if (settings.paymentGateway !== 'stripe') return undefined;
  // By name, the form CloudFormation documents for a secret of the stack's own account.
  return SecretValue.secretsManager(settings.stripeSecretName);
}
