import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ErrorCode } from '../shared/domain/errors.ts';
import { apiThrottle, type FunctionKey, type FunctionSpec, functionSpecs } from '../shared/wiring.ts';
import { API_STAGE, isProd, type Settings } from './settings.ts';

export interface ApiProps {
  settings: Settings;
  functions: Record<FunctionKey, lambda.IFunction>;
  /** Wiring key of the TOKEN authorizer function. */
  authorizer: FunctionKey;
}

/** `/sales/{saleId}/orders` + `POST` → the stage's method-settings key `/sales/{saleId}/orders/POST`. */
export function methodSettingsKey(http: NonNullable<FunctionSpec['http']>): string {
  return `${http.path}/${http.method}`;
}

/**
 * API Gateway's own refusals (bad token, unknown route, throttling, its 5xx) in the contract's
 * error shape. `$context.error.messageString` is API Gateway's message, already JSON-quoted.
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
  {
    type: apigw.ResponseType.THROTTLED,
    code: 'RETRY',
    statusCode: '429',
    message: 'Too many requests; retry shortly with the same Idempotency-Key',
    headers: { 'Retry-After': "'1'" },
  },
  { type: apigw.ResponseType.REQUEST_TOO_LARGE, code: 'PAYLOAD_TOO_LARGE', statusCode: '413' },
  { type: apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, code: 'UNSUPPORTED_MEDIA_TYPE', statusCode: '415' },
  { type: apigw.ResponseType.DEFAULT_4XX, code: 'VALIDATION_ERROR' },
  {
    type: apigw.ResponseType.DEFAULT_5XX,
    code: 'INTERNAL',
    message: 'Something went wrong on our side; it is safe to retry with the same Idempotency-Key',
  },
];

export function gatewayResponseBody(code: ErrorCode, message?: string): string {
  const quoted = message === undefined ? '$context.error.messageString' : JSON.stringify(message);
  return `{"error":{"code":"${code}","message":${quoted}}}`;
}

/**
 * The REST API: one Lambda proxy route per `functions.*.http` entry of the wiring table, a
 * TOKEN authorizer on every non-public route, throttling, a usage plan and JSON access logs.
 */
export class Api extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  readonly authorizer: apigw.TokenAuthorizer;
  readonly methods = {} as Partial<Record<FunctionKey, apigw.Method>>;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { settings } = props;
    const prod = isProd(settings);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: prod ? logs.RetentionDays.THREE_MONTHS : logs.RetentionDays.ONE_WEEK,
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    const methodOptions: Record<string, apigw.MethodDeploymentOptions> = {};
    for (const [key, limits] of Object.entries(apiThrottle.methods) as [
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
        tracingEnabled: true,
        // Per-method metrics: the dashboard graphs the checkout method's Count and Latency.
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: accessLogFormat(),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: settings.corsOrigins,
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
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

    const authorizer = new apigw.TokenAuthorizer(this, 'JwtAuthorizer', {
      handler: props.functions[props.authorizer],
      identitySource: apigw.IdentitySource.header('Authorization'),
      resultsCacheTtl: Duration.seconds(300),
    });
    this.authorizer = authorizer;

    for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
      if (!spec.http) continue;
      const resource = this.api.root.resourceForPath(spec.http.path);
      const method = resource.addMethod(
        spec.http.method,
        new apigw.LambdaIntegration(props.functions[key], { allowTestInvoke: false }),
        spec.http.auth === 'public'
          ? { authorizationType: apigw.AuthorizationType.NONE }
          : { authorizer, authorizationType: apigw.AuthorizationType.CUSTOM },
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
      } else {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason:
            'Protected by a TOKEN Lambda authorizer that verifies Cognito user pool JWTs (signature, issuer, expiry) with the same code that runs locally and on LocalStack, and that also accepts another OIDC issuer by context.',
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

    const plan = this.api.addUsagePlan('UsagePlan', {
      name: `flash-sale-${settings.stage}`,
      description: 'Default plan; attach API keys for partners that need their own limits',
      throttle: apiThrottle.stage,
    });
    plan.addApiStage({
      stage: this.api.deploymentStage,
      throttle: Object.entries(apiThrottle.methods).flatMap(([key, limits]) => {
        const method = this.methods[key as FunctionKey];
        return method ? [{ method, throttle: limits }] : [];
      }),
    });

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Requests are validated in the handlers (zod), so that every refusal uses the contract error shape and the same validation runs locally; an API Gateway validator without models would validate nothing.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF web ACL by default (per-request cost during a drop); stage, method and usage-plan throttling limit abuse. Associate a web ACL with the stage for production if needed (docs/DEPLOY.md).',
      },
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
