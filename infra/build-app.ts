import { type App, Tags } from 'aws-cdk-lib';
import { assertRealPaymentsInProd, assertStripePublishableKey } from './payment.ts';
import { readSettings, type Settings } from './settings.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

export interface BuiltApp {
  settings: Settings;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

/**
 * Builds both stacks of the flash-sale app into `app`. Settings come from CDK context
 * (`-c stage=prod`, `-c jwtIssuer=...`); `overrides` win (tests). Stack names carry the stage so
 * dev and prod can live in one account.
 */
export function buildApp(app: App, overrides: Partial<Settings> = {}): BuiltApp {
  const settings = readSettings(app.node, overrides);
  assertRealPaymentsInProd(settings);
  assertStripePublishableKey(settings);
  // Environment-agnostic stacks: they deploy to the account/region of the CLI's credentials,
  // and synthesis needs no AWS access at all.
  const stateful = new StatefulStack(app, `FlashSale-${settings.stage}-Stateful`, {
    settings,
    description: `Flash sale checkout: tables, queues, topics, user pool (${settings.stage})`,
  });
  const stateless = new StatelessStack(app, `FlashSale-${settings.stage}-Stateless`, {
    settings,
    stateful,
    description: `Flash sale checkout: functions, API, schedule, alarms, dashboard (${settings.stage})`,
  });
  Tags.of(app).add('app', 'flash-sale');
  Tags.of(app).add('stage', settings.stage);
  return { settings, stateful, stateless };
}
