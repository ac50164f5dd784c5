import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synth, tempOutdir } from './support.ts';

/** Every acknowledgement (cdk-nag v3: `Validations.of(x).acknowledge`) in the tree, with where it is. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

describe.each([
  ['dev', { accountConcurrency: '10000' }],
  [
    'prod',
    {
      stage: 'prod',
      accountConcurrency: '10000',
      paymentGateway: 'stripe',
      stripePublishableKey: 'pk_live_example',
    },
  ],
])('cdk-nag AwsSolutions (%s)', (_name, context) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth({ context });
  });

  it('reports no unacknowledged error or warning', () => {
    const result = new AwsSolutionsChecks(s.app).validateScope(s.app);
    const findings = result.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(result.success).toBe(true);
  });

  it('leaves no error or warning annotations on either stack', () => {
    for (const stack of [s.built.stateful, s.built.stateless]) {
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    }
  });

  it('gives every acknowledgement a specific reason', () => {
    const acks = acknowledgements(s.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(40);
    }
    // No blanket acknowledgement at stack or app level: each sits on the construct it excuses.
    for (const ack of acks) {
      expect([s.app.node.path, s.built.stateful.node.path, s.built.stateless.node.path]).not.toContain(
        ack.path,
      );
    }
  });

  it('synthesizes with the plugin registered, as infra/app.ts does', () => {
    Validations.of(s.app).addPlugins(new AwsSolutionsChecks(s.app));
    expect(() => s.app.synth({ force: true })).not.toThrow();
  });
});

describe('cdk-nag control', () => {
  it('does flag a non-compliant resource (so the checks above can fail)', () => {
    const app = new App({ outdir: tempOutdir() });
    const stack = new Stack(app, 'Control');
    new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const result = new AwsSolutionsChecks(app).validateScope(app);
    expect(result.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
  });
});
