import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { ErrorCode } from '../shared/domain/errors.ts';
import { GATEWAY_RETRY_AFTER_SECONDS, RETRY_MESSAGE } from '../shared/http/gateway-refusals.ts';
import { apiThrottle, type FunctionKey, type FunctionSpec, functionSpecs } from '../shared/wiring.ts';
import { routeAuthorizer } from './authorizers.ts';
import { usesCognitoAuthorizer } from './deployed.ts';
import type { Functions } from './functions.ts';
import { API_STAGE, isProd, type Settings } from './settings.ts';
import { attachWebAcl, flashSaleWebAcl } from './waf.ts';

export interface ApiProps {
  settings: Settings;
  functions: Functions;
  /** Wiring key of the TOKEN authorizer function (other OIDC issuers). */
  authorizer: FunctionKey;
  /** The stack's user pool: API Gateway's own Cognito authorizer checks its tokens. */
  userPool?: cognito.IUserPool;
  /** The admins' pool (MFA required): the Cognito authorizer accepts its tokens too. */
  adminPool?: cognito.IUserPool;
}

/** What the authorizer accepts at all; anything else is 401 without invoking it (or caching). */
export const BEARER_TOKEN_PATTERN = '^Bearer [-0-9A-Za-z._~+/]+=*$';

/** `/sales/{saleId}/orders` + `POST` → the stage's method-settings key `/sales/{saleId}/orders/POST`. */
export function methodSettingsKey(http: NonNullable<FunctionSpec['http']>): string {
  return `${http.path}/${http.method}`;
}

/**
 * API Gateway's own refusals (bad token, unknown route, throttling, its 5xx) in the contract's
 * error shape. `$context.error.messageString` is API Gateway's message, already JSON-quoted.
 * Overload is RETRY = 429 + Retry-After everywhere (README): a throttled stage, a throttled or
 * failing Lambda (INTEGRATION_FAILURE), a slow one (INTEGRATION_TIMEOUT) and any other 5xx of
 * API Gateway's own reach the buyer as RETRY, never as INTERNAL. Lambda's own answers pass through.
 */
export const gatewayResponses: {
  type: apigw.ResponseType;
  code: ErrorCode;
  statusCode?: string;
  message?: string;
  headers?: Record<string, string>;
}[] = [
  {
    type: apigw.ResponseType.UNAUTHORIZED,
    code: 'UNAUTHORIZED',
    statusCode: '401',
    message: 'A valid bearer token is required',
  },
  {
    type: apigw.ResponseType.ACCESS_DENIED,
    code: 'FORBIDDEN',
    statusCode: '403',
    message: 'You may not call this route',
  },
  // API Gateway answers an unknown path or method with 403 "Missing Authentication Token".
  {
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'NOT_FOUND',
    statusCode: '404',
    message: 'No such route',
  },
  {
    type: apigw.ResponseType.RESOURCE_NOT_FOUND,
    code: 'NOT_FOUND',
    statusCode: '404',
    message: 'No such route',
  },
  { type: apigw.ResponseType.REQUEST_TOO_LARGE, code: 'PAYLOAD_TOO_LARGE', statusCode: '413' },
  { type: apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, code: 'UNSUPPORTED_MEDIA_TYPE', statusCode: '415' },
  { type: apigw.ResponseType.DEFAULT_4XX, code: 'VALIDATION_ERROR' },
  {
    type: apigw.ResponseType.THROTTLED,
    code: 'RETRY',
    statusCode: '429',
    message: RETRY_MESSAGE,
    headers: { 'Retry-After': `'${GATEWAY_RETRY_AFTER_SECONDS}'` },
  },
  {
    type: apigw.ResponseType.INTEGRATION_FAILURE,
    code: 'RETRY',
    statusCode: '429',
    message: RETRY_MESSAGE,
    headers: { 'Retry-After': `'${GATEWAY_RETRY_AFTER_SECONDS}'` },
  },
  {
    type: apigw.ResponseType.INTEGRATION_TIMEOUT,
    code: 'RETRY',
    statusCode: '429',
    message: RETRY_MESSAGE,
    headers: { 'Retry-After': `'${GATEWAY_RETRY_AFTER_SECONDS}'` },
  },
  {
    type: apigw.ResponseType.DEFAULT_5XX,
    code: 'RETRY',
    statusCode: '429',
    message: RETRY_MESSAGE,
    headers: { 'Retry-After': `'${GATEWAY_RETRY_AFTER_SECONDS}'` },
  },
];

export function gatewayResponseBody(code: ErrorCode, message?: string): string {
  const quoted = message === undefined ? '$context.error.messageString' : JSON.stringify(message);
  return `{"error":{"code":"${code}","message":${quoted}}}`;
}

/**
 * The REST API: one Lambda proxy route per `functions.*.http` entry of the wiring table, a
 * TOKEN authorizer on every non-public route (cloud target), throttling and JSON access logs.
 */
export class Api extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  /** Absent on the localstack target: routes verify tokens themselves there. */
  readonly authorizer?: apigw.IAuthorizer;
  readonly webAcl?: wafv2.CfnWebACL;
  readonly methods = {} as Partial<Record<FunctionKey, apigw.Method>>;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { settings } = props;
    const prod = isProd(settings);
    const cloud = settings.target === 'aws';

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: prod ? logs.RetentionDays.THREE_MONTHS : logs.RetentionDays.ONE_WEEK,
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    const methodOptions: Record<string, apigw.MethodDeploymentOptions> = {};
    const methods = { ...apiThrottle.methods, placeOrder: settings.checkoutThrottle };
    for (const [key, limits] of Object.entries(methods) as [
      FunctionKey,
      { rateLimit: number; burstLimit: number },
    ][]) {
      const http = functionSpecs[key].http;
      if (!http) throw new Error(`apiThrottle.methods.${key}: ${key} has no http route in the wiring`);
      // A method's settings replace the stage-wide ones for that method, so repeat them.
      methodOptions[methodSettingsKey(http)] = {
        throttlingRateLimit: limits.rateLimit,
        throttlingBurstLimit: limits.burstLimit,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
      };
    }

    this.api = new apigw.RestApi(this, 'RestApi', {
      restApiName: `flash-sale-${settings.stage}`,
      description: `Flash sale checkout API (${settings.stage})`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Execution logs (ERROR level) need API Gateway's account-level CloudWatch role.
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE,
        throttlingRateLimit: apiThrottle.stage.rateLimit,
        throttlingBurstLimit: apiThrottle.stage.burstLimit,
        methodOptions,
        tracingEnabled: cloud,
        // Per-method metrics: the dashboard graphs the checkout method's Count and Latency.
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: accessLogFormat(),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: settings.corsOrigins,
        allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Admission-Token', 'Queue-Ticket'],
        exposeHeaders: ['Location', 'Retry-After'],
        maxAge: Duration.hours(1),
      },
    });

    const corsOrigin = settings.corsOrigins.length === 1 ? settings.corsOrigins[0] : undefined;
    for (const response of gatewayResponses) {
      this.api.addGatewayResponse(`Gateway${response.type.responseType}`, {
        type: response.type,
        ...(response.statusCode ? { statusCode: response.statusCode } : {}),
        responseHeaders: {
          ...(corsOrigin ? { 'Access-Control-Allow-Origin': `'${corsOrigin}'` } : {}),
          ...response.headers,
        },
        templates: { 'application/json': gatewayResponseBody(response.code, response.message) },
      });
    }

    const { authorizer, guarded } = routeAuthorizer(this, props);
    this.authorizer = authorizer;

    for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
      if (!spec.http) continue;
      const resource = this.api.root.resourceForPath(spec.http.path);
      const method = resource.addMethod(
        spec.http.method,
        new apigw.LambdaIntegration(props.functions.invokeTarget(key), { allowTestInvoke: false }),
        spec.http.auth === 'public' || !authorizer
          ? { authorizationType: apigw.AuthorizationType.NONE }
          : guarded,
      );
      this.methods[key] = method;
      if (spec.http.auth === 'public') {
        Validations.of(method).acknowledge(
          {
            id: 'AwsSolutions-APIG4',
            reason: `${spec.http.method} ${spec.http.path} is public by the HTTP contract (DESIGN.md).`,
          },
          {
            id: 'AwsSolutions-COG4',
            reason: `${spec.http.method} ${spec.http.path} is public by the HTTP contract (DESIGN.md).`,
          },
        );
      } else if (!authorizer) {
        const reason = `${spec.http.method} ${spec.http.path} verifies the bearer JWT in the route itself (AUTH_MODE=verify against the dev issuer's public JWKS): the localstack target has no Lambda authorizers.`;
        Validations.of(method).acknowledge(
          { id: 'AwsSolutions-APIG4', reason },
          { id: 'AwsSolutions-COG4', reason },
        );
      } else {
        if (!usesCognitoAuthorizer(settings))
          Validations.of(method).acknowledge({
            id: 'AwsSolutions-COG4',
            reason:
              'Another OIDC issuer (-c jwtIssuer): protected by a TOKEN Lambda authorizer that verifies its JWTs (signature, issuer, audience, expiry) with the same code that runs locally and on LocalStack.',
          });
      }
    }

    // CORS preflight methods answer OPTIONS with a mock integration; browsers send no token.
    for (const method of this.api.methods) {
      if (method.httpMethod !== 'OPTIONS') continue;
      Validations.of(method).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason: 'CORS preflight (OPTIONS, mock integration) carries no credentials.',
        },
        {
          id: 'AwsSolutions-COG4',
          reason: 'CORS preflight (OPTIONS, mock integration) carries no credentials.',
        },
      );
    }

    if (settings.waf) {
      this.webAcl = flashSaleWebAcl(this, 'WebAcl', {
        scope: 'REGIONAL',
        metricPrefix: `flash-sale-${settings.stage}`,
        limits: settings.waf,
      });
      attachWebAcl(this, 'WebAclAssociation', this.webAcl, this.api.deploymentStage.stageArn);
    }

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Requests are validated in the handlers (zod), so that every refusal uses the contract error shape and the same validation runs locally; an API Gateway validator without models would validate nothing.',
      },
      ...(this.webAcl
        ? []
        : [
            {
              id: 'AwsSolutions-APIG3',
              reason:
                'No WAF web ACL on this deployment (-c waf=false, a stage other than prod, or the localstack target); stage and method throttling and reserved concurrency limit abuse. Prod has one by default (docs/DEPLOY.md "WAF").',
            },
          ]),
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level CloudWatch role uses the AWS managed policy made for it; it writes API Gateway execution logs only.",
      },
    );
  }
}

function accessLogFormat(): apigw.AccessLogFormat {
  const F = apigw.AccessLogField;
  return apigw.AccessLogFormat.custom(
    JSON.stringify({
      requestId: F.contextRequestId(),
      extendedRequestId: F.contextExtendedRequestId(),
      ip: F.contextIdentitySourceIp(),
      userAgent: F.contextIdentityUserAgent(),
      requestTime: F.contextRequestTime(),
      httpMethod: F.contextHttpMethod(),
      resourcePath: F.contextResourcePath(),
      path: F.contextPath(),
      status: F.contextStatus(),
      protocol: F.contextProtocol(),
      responseLength: F.contextResponseLength(),
      responseLatency: F.contextResponseLatency(),
      integrationLatency: F.contextIntegrationLatency(),
      integrationStatus: F.contextIntegrationStatus(),
      errorType: F.contextErrorResponseType(),
      errorMessage: F.contextErrorMessage(),
      authorizerError: F.contextAuthorizerError(),
      authorizerLatency: F.contextAuthorizerIntegrationLatency(),
      userId: F.contextAuthorizer('userId'),
      xrayTraceId: F.contextXrayTraceId(),
    }),
  );
}
