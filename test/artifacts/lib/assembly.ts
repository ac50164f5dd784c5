import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { type BuiltApp, buildApp } from '../../../infra/build-app.ts';
import { REPO_ROOT } from '../../../infra/functions.ts';
import type { LocalResources } from '../../../local/resources.ts';
import {
  type FunctionKey,
  functionSpecs,
  type QueueKey,
  queues,
  type TableKey,
  type TopicKey,
  topics,
} from '../../../shared/wiring.ts';
import type { Json, Physical, Template } from './cloudformation.ts';

export const ACCOUNT_ID = '000000000000';

export interface DeployedFunction {
  key: FunctionKey;
  logicalId: string;
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The asset directory the stack's asset manifest publishes for this function's Code. */
  assetDir: string;
  /** Environment.Variables as written in the template (CloudFormation expressions unresolved). */
  environment: Json;
}

export interface Assembly {
  outdir: string;
  built: BuiltApp;
  stacks: { stateful: string; stateless: string };
  templates: Record<string, Template>;
  functions: Record<FunctionKey, DeployedFunction>;
  /** Deletes the cloud assembly. */
  remove(): void;
}

/**
 * `cdk synth` of the real app (infra/build-app.ts with cdk.json's context plus `context`),
 * bundling included, into a temporary cloud assembly; then, per function, what `cdk deploy`
 * would upload: its template's Code.S3Key names an entry of the stack's asset manifest, whose
 * source path is the directory that gets zipped.
 */
export function synthAssembly(context: Record<string, unknown>): Assembly {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Json };
  const outdir = mkdtempSync(path.join(tmpdir(), 'flash-sale-artifacts-'));
  const app = new App({ outdir, context: { ...cdkJson.context, ...context } });
  const built = buildApp(app);
  app.synth();
  const read = <T>(file: string) => JSON.parse(readFileSync(path.join(outdir, file), 'utf8')) as T;
  const stateful = built.stateful.artifactId;
  const stateless = built.stateless.artifactId;
  const templates = {
    [stateful]: read<Template>(`${stateful}.template.json`),
    [stateless]: read<Template>(`${stateless}.template.json`),
  };
  const assets = read<{ files: Record<string, { source: { path: string; packaging?: string } }> }>(
    `${stateless}.assets.json`,
  );

  const functions = {} as Record<FunctionKey, DeployedFunction>;
  for (const key of Object.keys(functionSpecs) as FunctionKey[]) {
    const deployed = built.stateless.functions.functions[key];
    if (!deployed) continue;
    const logicalId = logicalIdOf(deployed);
    const resource = templates[stateless]?.Resources[logicalId];
    if (resource?.Type !== 'AWS::Lambda::Function') throw new Error(`No AWS::Lambda::Function ${logicalId}`);
    const props = resource.Properties as {
      Code: { S3Key: string };
      Handler: string;
      Timeout: number;
      MemorySize: number;
      Environment?: { Variables?: Json };
    };
    const hash = props.Code.S3Key.replace(/\.zip$/, '');
    const asset = assets.files[hash];
    if (asset?.source.packaging !== 'zip')
      throw new Error(`${key}: Code.S3Key ${props.Code.S3Key} is not a zipped file asset of ${stateless}`);
    functions[key] = {
      key,
      logicalId,
      handler: props.Handler,
      timeoutSeconds: props.Timeout,
      memoryMb: props.MemorySize,
      assetDir: path.join(outdir, asset.source.path),
      environment: props.Environment?.Variables ?? {},
    };
  }
  return {
    outdir,
    built,
    stacks: { stateful, stateless },
    templates,
    functions,
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * Stand-ins for the stateful stack's resources: the wiring's tables, queues and topic as
 * local/resources.ts created them on the emulators, matched by construct (not by name).
 */
export function standIns(
  assembly: Assembly,
  resources: LocalResources,
  region: string,
): Record<string, Record<string, Physical>> {
  const { stateful } = assembly.built;
  const physical: Record<string, Physical> = {};
  for (const [key, name] of Object.entries(resources.tableNames) as [TableKey, string][]) {
    physical[logicalIdOf(stateful.tables[key])] = {
      ref: name,
      attributes: { Arn: `arn:aws:dynamodb:${region}:${ACCOUNT_ID}:table/${name}` },
    };
  }
  for (const key of Object.keys(queues) as QueueKey[]) {
    for (const [construct, url] of [
      [stateful.queues[key].queue, resources.queueUrls[key]],
      [stateful.queues[key].dlq, resources.dlqUrls[key]],
    ] as const) {
      const name = url.slice(url.lastIndexOf('/') + 1);
      physical[logicalIdOf(construct)] = {
        ref: url,
        attributes: { Arn: `arn:aws:sqs:${region}:${ACCOUNT_ID}:${name}`, QueueName: name, QueueUrl: url },
      };
    }
  }
  for (const key of Object.keys(topics) as TopicKey[]) {
    const arn = resources.env[topics[key].envVar] as string;
    physical[logicalIdOf(stateful.topics[key])] = {
      ref: arn,
      attributes: { TopicArn: arn, TopicName: arn.slice(arn.lastIndexOf(':') + 1) },
    };
  }
  // Secrets: Ref is the ARN; the value reaches a function through a dynamic reference, which the
  // resolver turns into a random secret.
  const stacks: Record<string, Record<string, Physical>> = {
    [assembly.stacks.stateful]: physical,
    [assembly.stacks.stateless]: {},
  };
  for (const [stack, template] of Object.entries(assembly.templates)) {
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type === 'AWS::SecretsManager::Secret')
        (stacks[stack] as Record<string, Physical>)[id] = {
          ref: `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${id}-AbCdEf`,
        };
    }
  }
  return stacks;
}

function logicalIdOf(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}
