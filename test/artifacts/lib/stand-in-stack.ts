import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda';
import { type DevIssuer, devIssuer } from '../../../local/dev-issuer.ts';
import { startDynamoDbLocal, startSqsEmulator } from '../../../local/emulators.ts';
import { ensureResources, type LocalResources } from '../../../local/resources.ts';
import { sqsEventOf } from '../../../local/runtime/pollers.ts';
import { emulatorCredentials } from '../../../shared/adapters/aws.ts';
import { type FunctionKey, functionSpecs, type QueueKey } from '../../../shared/wiring.ts';
import { ACCOUNT_ID, type Assembly, standIns, synthAssembly } from './assembly.ts';
import { Resolver } from './cloudformation.ts';
import { proxyEvent, type RouteCall } from './events.ts';
import { type LambdaNode, lambdaNode } from './lambda-node.ts';
import { LambdaError, type LambdaProcess, startLambda } from './lambda-process.ts';

export const REGION = 'eu-west-1';

export type Functions = Record<FunctionKey, LambdaProcess>;

export interface HttpReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON body the tests read field by field
  body: any;
  headers: APIGatewayProxyResult['headers'];
}

/**
 * What a deployment gives the functions, played on this machine: DynamoDB Local and fauxqs with
 * the wiring's resources (local/resources.ts), the dev issuer with its JWKS served over HTTP (the
 * app's jwksUrl), synthesized assemblies, and their functions started as Lambda would start them.
 */
export interface StandInStack {
  node: LambdaNode;
  issuer: DevIssuer;
  /** Same issuer name, another key: what a forger would have. */
  stranger: DevIssuer;
  jwksUrl: string;
  resources: LocalResources;
  dynamoEndpoint: string;
  sqs: SQSClient;
  /** `cdk synth` with bundling; removed on stop. */
  synth(context: Record<string, unknown>): Assembly;
  /** Starts functions of an assembly, each with its template's environment resolved; stopped on stop. */
  startFunctions(
    assembly: Assembly,
    keys: FunctionKey[],
    runtimeOverrides?: Record<string, string>,
  ): Functions;
  /** Invokes a route's function with an API Gateway proxy event. A 5xx throws, with the function's log. */
  http(fns: Functions, key: FunctionKey, call: Omit<RouteCall, 'method' | 'resource'>): Promise<HttpReply>;
  receiveAll(queue: QueueKey): Promise<Message[]>;
  deleteAll(queue: QueueKey, messages: Message[]): Promise<void>;
  /** Plays the SQS event source once: receive, invoke the consumer, delete what succeeded. */
  deliver(queue: QueueKey, consumer: LambdaProcess): Promise<{ messages: Message[]; failed: string[] }>;
  stop(): Promise<void>;
}

export async function startStandInStack(): Promise<StandInStack> {
  const node = lambdaNode();
  const scratch = mkdtempSync(path.join(tmpdir(), 'flash-sale-artifacts-issuer-'));
  const issuer = await devIssuer(path.join(scratch, 'dev-issuer-key.json'));
  const stranger = await devIssuer(path.join(scratch, 'another-key.json'));
  const jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((done) => jwksServer.listen(0, '127.0.0.1', done));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  const [dynamo, sqsEmulator] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  const resources = await ensureResources(
    { region: REGION, dynamodb: dynamo.endpoint, sqs: sqsEmulator.endpoint },
    { prefix: 'artifacts' },
  );
  const sqs = new SQSClient({
    region: REGION,
    endpoint: sqsEmulator.endpoint,
    credentials: emulatorCredentials(),
  });
  // DynamoDB Local keeps one database per access key and region: the key the resources were made with.
  const credentials = emulatorCredentials() ?? {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  };
  /**
   * What Lambda puts beside the template's variables (region, role credentials) and what LocalStack
   * puts there: the SDK's standard endpoint variables, pointing at the emulators. The functions' own
   * *_ENDPOINT settings stay unset, as in a deployment.
   */
  const lambdaEnvironment = {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: 'artifacts',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint,
    AWS_ENDPOINT_URL_SNS: sqsEmulator.endpoint,
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  };
  const assemblies: Assembly[] = [];
  const processes: LambdaProcess[] = [];

  const stack: StandInStack = {
    node,
    issuer,
    stranger,
    jwksUrl,
    resources,
    dynamoEndpoint: dynamo.endpoint,
    sqs,
    synth(context) {
      const assembly = synthAssembly(context);
      assemblies.push(assembly);
      return assembly;
    },
    startFunctions(assembly, keys, runtimeOverrides = {}) {
      const resolver = new Resolver(assembly.templates, standIns(assembly, resources, REGION), {
        region: REGION,
        accountId: ACCOUNT_ID,
      });
      const started = {} as Functions;
      for (const key of keys) {
        const fn = assembly.functions[key];
        started[key] = startLambda({
          name: `${assembly.stacks.stateless}-${key}`,
          assetDir: fn.assetDir,
          handler: fn.handler,
          environment: Object.fromEntries(
            Object.entries(fn.environment).map(([name, value]) => [
              name,
              resolver.resolveString(value, assembly.stacks.stateless),
            ]),
          ),
          runtimeEnvironment: { ...lambdaEnvironment, ...runtimeOverrides },
          timeoutSeconds: fn.timeoutSeconds,
          memoryMb: fn.memoryMb,
          nodePath: node.path,
        });
        processes.push(started[key]);
      }
      return started;
    },
    async http(fns, key, call) {
      const route = functionSpecs[key].http;
      if (!route) throw new Error(`${key} is not a route`);
      const result = await fns[key].invoke<APIGatewayProxyResult>(
        proxyEvent({ method: route.method, resource: route.path, ...call }),
      );
      if (result.statusCode >= 500)
        throw new Error(`${key} answered ${result.statusCode}:\n${fns[key].output()}`);
      return { status: result.statusCode, body: JSON.parse(result.body || '{}'), headers: result.headers };
    },
    async receiveAll(queue) {
      const all: Message[] = [];
      for (let empty = 0; empty < 2; ) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: resources.queueUrls[queue],
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) empty++;
        else all.push(...messages);
      }
      return all;
    },
    async deleteAll(queue, messages) {
      for (let i = 0; i < messages.length; i += 10) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: resources.queueUrls[queue],
            Entries: messages
              .slice(i, i + 10)
              .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle as string })),
          }),
        );
      }
    },
    async deliver(queue, consumer) {
      const messages = await stack.receiveAll(queue);
      const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${queue}`;
      let failed: string[];
      try {
        const response = await consumer.invoke<SQSBatchResponse>(sqsEventOf(messages, queueArn, REGION));
        failed = response.batchItemFailures.map((f) => f.itemIdentifier);
      } catch (error) {
        // A function error fails the whole batch (Powertools throws when every record failed).
        if (!(error instanceof LambdaError)) throw error;
        failed = messages.map((m) => m.MessageId as string);
      }
      await stack.deleteAll(
        queue,
        messages.filter((m) => !failed.includes(m.MessageId as string)),
      );
      return { messages, failed };
    },
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      for (const assembly of assemblies) assembly.remove();
      sqs.destroy();
      await Promise.all([dynamo.stop(), sqsEmulator.stop()]);
      await new Promise<void>((done) => jwksServer.close(() => done()));
      rmSync(scratch, { recursive: true, force: true });
    },
  };
  return stack;
}
