import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEV_AUDIENCE, DEV_ISSUER } from '../shared/auth/dev-issuer.ts';
import {
  type QueueKey,
  type QueueSpec,
  queues,
  type TableKey,
  type TableSpec,
  type TopicKey,
  tables,
  topics,
} from '../shared/wiring.ts';
import { type Capacity, isProd, type Settings } from './settings.ts';

export interface StatefulStackProps extends StackProps {
  settings: Settings;
}

/** What the authorizer (and in-route verification) trusts; shared/config.ts `auth` group. */
export interface JwtTrust {
  issuer: string;
  jwksUrl: string;
  audience?: string;
  /** Cognito: token_use accepted and the app client (JWT_TOKEN_USE + JWT_CLIENT_ID). */
  cognito?: { tokenUse: 'id' | 'access'; clientId: string };
  adminClaim?: string;
  /** The admin user pool (MFA required): only its tokens make an admin (ADMIN_JWT_* variables). */
  admins?: { issuer: string; jwksUrl: string; clientId: string };
}

export interface QueuePair {
  queue: sqs.Queue;
  dlq: sqs.Queue;
}

/** The Cognito group whose members the authorizer reports as admin (DESIGN.md: group `admin`). */
export const ADMIN_GROUP = 'admin';

/**
 * Everything that holds data or identity: tables, queues + DLQs, topics, the user pool. Kept apart
 * from the functions so redeploying code never risks data, and so `stage=prod` can retain it.
 */
export class StatefulStack extends Stack {
  readonly tables = {} as Record<TableKey, dynamodb.Table>;
  readonly queues = {} as Record<QueueKey, QueuePair>;
  readonly topics = {} as Record<TopicKey, sns.Topic>;
  readonly alarmTopic: sns.Topic;
  /** The user pool and its app client; absent on the localstack target (Cognito is a paid LocalStack feature). */
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;
  /** Operators: their own pool, where a second factor (TOTP) is required; absent with another issuer. */
  readonly adminPool?: cognito.UserPool;
  readonly adminPoolClient?: cognito.UserPoolClient;
  /** HMAC key for tokens the API issues and reads back (the `signing` env group). */
  readonly signingSecret: secretsmanager.Secret;
  /** The JWT issuer the authorizer trusts: the user pool unless context names another issuer. */
  readonly jwt: JwtTrust;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, { terminationProtection: isProd(props.settings), ...props });
    const { settings } = props;
    const prod = isProd(settings);
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    for (const [key, spec] of Object.entries(tables) as [TableKey, TableSpec][]) {
      this.tables[key] = tableFor(this, key, spec, {
        prod,
        removalPolicy,
        // Warm throughput is an AWS pre-warming knob; LocalStack has nothing to warm.
        warmThroughput: settings.target === 'aws' ? settings.capacity.warmThroughput : undefined,
      });
    }

    for (const [key, spec] of Object.entries(queues) as [QueueKey, QueueSpec][]) {
      this.queues[key] = queuePairFor(this, key, spec, removalPolicy);
    }

    // Order events are encrypted with the AWS-managed SNS key: publishers in this account need
    // only sns:Publish, and nothing else (no subscriber yet) needs to decrypt.
    const snsManagedKey = kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns');
    for (const [key, spec] of Object.entries(topics) as [TopicKey, (typeof topics)[TopicKey]][]) {
      this.topics[key] = new sns.Topic(this, `${pascal(key)}Topic`, {
        displayName: `Flash sale ${spec.name} (${settings.stage})`,
        masterKey: snsManagedKey,
        enforceSSL: true,
      });
    }

    // CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key, and alarm
    // notifications carry no customer data, so this topic stays unencrypted (SSL still enforced).
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Flash sale alarms (${settings.stage})`,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (settings.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }

    let issuer: string;
    let audience = settings.jwtAudience;
    let cognitoClient: JwtTrust['cognito'];
    let admins: JwtTrust['admins'];
    if (settings.target === 'aws') {
      const userPool = new cognito.UserPool(this, 'UserPool', {
        // Off unless -c selfSignUp=true: open sign-up lets one person hold a drop with many addresses.
        selfSignUpEnabled: settings.selfSignUp,
        signInAliases: { email: true },
        autoVerify: { email: true },
        standardAttributes: { email: { required: true, mutable: true } },
        passwordPolicy: {
          minLength: 12,
          requireLowercase: true,
          requireUppercase: true,
          requireDigits: true,
          requireSymbols: true,
          tempPasswordValidity: Duration.days(3),
        },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        mfa: cognito.Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        featurePlan: cognito.FeaturePlan.ESSENTIALS,
        deletionProtection: prod,
        removalPolicy,
      });
      Validations.of(userPool).acknowledge(
        {
          id: 'AwsSolutions-COG2',
          reason:
            'Buyers: MFA is offered (TOTP, optional) but not required: buyers sign in seconds before a timed drop, and a forced second factor would lose them the sale. Admins are not in this pool: they sign in to the admin pool, where TOTP is required, and only its tokens make an admin.',
        },
        {
          id: 'AwsSolutions-COG8',
          reason:
            'The Plus feature plan (threat protection) is priced per monthly active user, which a flash sale inflates; abuse is limited by API Gateway throttling, reserved concurrency and (optionally) a WAF rate rule instead. Revisit for production with real traffic.',
        },
      );

      const userPoolClient = userPool.addClient('WebClient', {
        ...signInClient,
        refreshTokenValidity: Duration.days(30),
      });

      this.userPool = userPool;
      this.userPoolClient = userPoolClient;
      issuer = settings.jwtIssuer ?? `https://cognito-idp.${Aws.REGION}.amazonaws.com/${userPool.userPoolId}`;
      if (!settings.jwtIssuer) {
        cognitoClient = { tokenUse: settings.jwtTokenUse, clientId: userPoolClient.userPoolClientId };
        const admin = adminPoolOf(this, { prod, removalPolicy });
        this.adminPool = admin.pool;
        this.adminPoolClient = admin.client;
        const adminIssuer = `https://cognito-idp.${Aws.REGION}.amazonaws.com/${admin.pool.userPoolId}`;
        admins = {
          issuer: adminIssuer,
          jwksUrl: `${adminIssuer}/.well-known/jwks.json`,
          clientId: admin.client.userPoolClientId,
        };
        new CfnOutput(this, 'AdminPoolId', { value: admin.pool.userPoolId });
        new CfnOutput(this, 'AdminPoolClientId', { value: admin.client.userPoolClientId });
      }
      new CfnOutput(this, 'UserPoolId', { value: userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: userPoolClient.userPoolClientId });
    } else {
      // The dev issuer of `npm start` / `npm run token`; routes verify against its public JWKS.
      issuer = DEV_ISSUER;
      audience = DEV_AUDIENCE;
    }
    this.jwt = {
      issuer,
      jwksUrl: settings.jwksUrl ?? `${issuer}/.well-known/jwks.json`,
      ...(audience ? { audience } : {}),
      ...(cognitoClient ? { cognito: cognitoClient } : {}),
      ...(settings.jwtAdminClaim ? { adminClaim: settings.jwtAdminClaim } : {}),
      ...(admins ? { admins } : {}),
    };

    this.signingSecret = new secretsmanager.Secret(this, 'TokenSigningKey', {
      description: `Flash sale HMAC key for pagination and admission tokens (${settings.stage})`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    Validations.of(this.signingSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Not rotated automatically: the key signs short-lived pagination and admission tokens, functions receive it at deploy (dynamic reference), and a rotation must be followed by a deploy (docs/DEPLOY.md).',
    });

    new CfnOutput(this, 'JwtIssuer', { value: issuer });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    for (const [key, pair] of Object.entries(this.queues)) {
      new CfnOutput(this, `${pascal(key)}DlqUrl`, { value: pair.dlq.queueUrl });
    }
    // The audit (npm run audit) and the DLQ tool read tables and queues directly.
    for (const [key, table] of Object.entries(this.tables)) {
      new CfnOutput(this, `${pascal(key)}TableName`, { value: table.tableName });
    }
    for (const [key, pair] of Object.entries(this.queues)) {
      new CfnOutput(this, `${pascal(key)}QueueUrl`, { value: pair.queue.queueUrl });
    }
  }
}

/**
 * Both pools' app clients. SRP for apps: the password never leaves the client. No
 * USER_PASSWORD_AUTH (a public password-guessing endpoint); operators and drills use
 * ADMIN_USER_PASSWORD_AUTH, which needs AWS credentials allowed cognito-idp:AdminInitiateAuth. No
 * hosted UI and no redirect: the OAuth flows (code, implicit) would only be attack surface.
 */
const signInClient = {
  authFlows: { userSrp: true, adminUserPassword: true },
  disableOAuth: true,
  generateSecret: false,
  preventUserExistenceErrors: true,
  accessTokenValidity: Duration.hours(1),
  idTokenValidity: Duration.hours(1),
} satisfies cognito.UserPoolClientOptions;

/**
 * The operators' user pool: no sign-up (an operator creates each admin), TOTP required at every
 * sign-in, and the `admin` group. Its own pool because Cognito requires MFA per pool, not per app
 * client; the API trusts its tokens for admin routes only (JwtTrust.admins).
 */
function adminPoolOf(
  scope: Construct,
  options: { prod: boolean; removalPolicy: RemovalPolicy },
): { pool: cognito.UserPool; client: cognito.UserPoolClient } {
  const pool = new cognito.UserPool(scope, 'AdminPool', {
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    standardAttributes: { email: { required: true, mutable: true } },
    passwordPolicy: {
      minLength: 14,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(1),
    },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    featurePlan: cognito.FeaturePlan.ESSENTIALS,
    deletionProtection: options.prod,
    removalPolicy: options.removalPolicy,
  });
  Validations.of(pool).acknowledge({
    id: 'AwsSolutions-COG8',
    reason:
      'A handful of operators, each with TOTP required: the Plus plan (threat protection) adds little here; revisit with the buyer pool.',
  });
  // The TOTP challenge follows either sign-in flow.
  const client = pool.addClient('AdminClient', { ...signInClient, refreshTokenValidity: Duration.hours(12) });
  new cognito.CfnUserPoolGroup(scope, 'AdminGroup', {
    userPoolId: pool.userPoolId,
    groupName: ADMIN_GROUP,
    description: 'May create and change sales and read any order',
  });
  return { pool, client };
}

function tableFor(
  scope: Construct,
  key: TableKey,
  spec: TableSpec,
  options: { prod: boolean; removalPolicy: RemovalPolicy; warmThroughput?: Capacity['warmThroughput'] },
): dynamodb.Table {
  const attribute = (a: TableSpec['partitionKey']): dynamodb.Attribute => ({
    name: a.name,
    type: a.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
  });
  const table = new dynamodb.Table(scope, `${pascal(key)}Table`, {
    partitionKey: attribute(spec.partitionKey),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(spec.ttlAttribute ? { timeToLiveAttribute: spec.ttlAttribute } : {}),
    deletionProtection: options.prod,
    removalPolicy: options.removalPolicy,
    ...(options.warmThroughput ? { warmThroughput: options.warmThroughput } : {}),
  });
  for (const index of spec.indexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: attribute(index.partitionKey),
      sortKey: attribute(index.sortKey),
      projectionType: dynamodb.ProjectionType.ALL,
      ...(options.warmThroughput ? { warmThroughput: options.warmThroughput } : {}),
    });
  }
  return table;
}

function queuePairFor(
  scope: Construct,
  key: QueueKey,
  spec: QueueSpec,
  removalPolicy: RemovalPolicy,
): QueuePair {
  // High-throughput FIFO: deduplication and throughput limits per message group, so the only
  // ordering (and the only serialisation) is within one group.
  const fifo = {
    fifo: true,
    contentBasedDeduplication: false,
    deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
    fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    removalPolicy,
  } as const;
  const dlq = new sqs.Queue(scope, `${pascal(key)}Dlq`, {
    ...fifo,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, `${pascal(key)}Queue`, {
    ...fifo,
    visibilityTimeout: Duration.seconds(spec.visibilityTimeoutSeconds),
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: dlq, maxReceiveCount: spec.maxReceiveCount },
  });
  return { queue, dlq };
}

export function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}
