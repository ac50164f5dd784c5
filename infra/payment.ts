import { SecretValue } from 'aws-cdk-lib';
import { STRIPE_PUBLISHABLE_KEY } from '../shared/contract.ts';
import { isProd, type Settings } from './settings.ts';

/**
 * Payments in the CDK app: production takes real money, the Stripe secret key comes from Secrets
 * Manager, and the buyer page gets the matching publishable key. The security settings (auth,
 * WAF, IAM) live elsewhere; this file is only these three.
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
 * Fails synthesis of a Stripe stack without a publishable key (its buyer page could not collect a
 * card, so nobody could pay) or with anything else in its place: the page shows the key to every
 * buyer, so a secret key there would be published. The message never repeats the value.
 */
export function assertStripePublishableKey(
  settings: Pick<Settings, 'paymentGateway' | 'stripePublishableKey'>,
): void {
  if (settings.paymentGateway !== 'stripe') return;
  const key = settings.stripePublishableKey;
  if (key === undefined)
    throw new Error(
      'paymentGateway=stripe needs the publishable key the buyer page collects cards with: ' +
        'pass -c stripePublishableKey=pk_live_… (pk_test_… for a test-mode account), from the same Stripe account ' +
        'as the secret key in Secrets Manager (docs/DEPLOY.md "Payments").',
    );
  if (!STRIPE_PUBLISHABLE_KEY.test(key))
    throw new Error(
      `Context stripePublishableKey must be a Stripe publishable key (pk_live_… or pk_test_…), got a value starting ${JSON.stringify(key.slice(0, 3))}: ` +
        'the buyer page shows it to everyone, so never pass a secret (sk_…) or restricted (rk_…) key.',
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
