import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { type FunctionKey, type FunctionSpec, functionSpecs } from '../shared/wiring.ts';
import { Api } from './api.ts';
import { Edge } from './edge.ts';
import { Functions } from './functions.ts';
import { Observability } from './observability.ts';
import { stripeSecretKey } from './payment.ts';
import { AUTHORIZER_FUNCTION, type Settings } from './settings.ts';
import { pascal, type StatefulStack } from './stateful-stack.ts';

export interface StatelessStackProps extends StackProps {
  settings: Settings;
  stateful: StatefulStack;
}

export { AUTHORIZER_FUNCTION };

/** Code and its plumbing: functions, the REST API, schedules, alarms and the dashboard. */
export class StatelessStack extends Stack {
  readonly functions: Functions;
  readonly api: Api;
  readonly observability: Observability;
  /** CloudFront in front (settings.edge). */
  readonly edge?: Edge;
  readonly rules = {} as Partial<Record<FunctionKey, events.Rule>>;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { settings, stateful } = props;

    this.functions = new Functions(this, 'Functions', {
      settings,
      tables: stateful.tables,
      queues: stateful.queues,
      topics: stateful.topics,
      jwt: stateful.jwt,
      signingSecret: stateful.signingSecret,
      stripeSecretKey: stripeSecretKey(settings),
    });

    this.api = new Api(this, 'Api', {
      settings,
      functions: this.functions,
      authorizer: AUTHORIZER_FUNCTION,
      ...(stateful.userPool ? { userPool: stateful.userPool } : {}),
      ...(stateful.adminPool ? { adminPool: stateful.adminPool } : {}),
    });

    for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
      if (!spec.schedule) continue;
      this.rules[key] = new events.Rule(this, `${key}Schedule`, {
        description: `Runs ${key} every ${scheduleMinutes(spec.schedule.everySeconds)} min (wiring: every ${spec.schedule.everySeconds} s)`,
        schedule: events.Schedule.rate(Duration.minutes(scheduleMinutes(spec.schedule.everySeconds))),
        targets: [new targets.LambdaFunction(this.functions.get(key), { retryAttempts: 0 })],
      });
      if (spec.schedule.everySeconds < 60) {
        Annotations.of(this.rules[key]).addInfo(
          `${key} runs every minute in AWS: EventBridge rates cannot go below one minute (wiring asks ${spec.schedule.everySeconds} s).`,
        );
      }
    }

    this.observability = new Observability(this, 'Observability', {
      settings,
      api: this.api.api,
      functions: this.functions.functions,
      logGroups: this.functions.logGroups,
      accessLogs: this.api.accessLogs,
      tables: stateful.tables,
      queues: stateful.queues,
      alarmTopic: stateful.alarmTopic,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the REST API' });
    if (settings.edge) {
      this.edge = new Edge(this, 'Edge', { settings, api: this.api.api });
      new CfnOutput(this, 'EdgeUrl', {
        value: this.edge.url,
        description: 'The buyer page and the API through CloudFront (public documents cached)',
      });
    }
    for (const warning of settings.concurrencyPlan.warnings) Annotations.of(this).addWarning(warning);
    // `npm run capacity:raise|lower` finds the functions whose live alias takes provisioned concurrency.
    for (const key of Object.keys(this.functions.aliases)) {
      new CfnOutput(this, `${pascal(key)}FunctionName`, {
        value: this.functions.get(key as FunctionKey).functionName,
      });
    }
    if (this.observability.dashboard) {
      new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    }
  }
}

/**
 * EventBridge rates are whole minutes, at least one; the wiring speaks seconds. Rounds down, so
 * the cloud never runs a schedule less often than the wiring asks (except below one minute).
 */
export function scheduleMinutes(everySeconds: number): number {
  return Math.max(1, Math.floor(everySeconds / 60));
}
