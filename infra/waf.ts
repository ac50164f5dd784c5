import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { errorBody } from '../shared/http/error-body.ts';
import { type FunctionKey, functionSpecs } from '../shared/wiring.ts';

/** What the web ACL enforces (infra/settings.ts `waf`; docs/DEPLOY.md "WAF"). */
export interface WafLimits {
  /** Requests per IP per minute on the checkout (`POST /sales/{id}/orders`) before the IP is blocked. */
  checkoutPerMinute: number;
  /** Requests per IP per minute on joining a sale's line (`POST /sales/{id}/queue`). */
  joinPerMinute: number;
  /** Any request per IP per 5 minutes (`-c wafRateLimit=N`); unset = no such rule. */
  allPer5Minutes?: number;
  /** AWS Managed Rules Bot Control (common level): billed per request on top of WAF's own price. */
  botControl: boolean;
}

/**
 * What a blocked IP is answered: the contract's 429 RETRY with Retry-After, as API Gateway's own
 * throttle answers, not WAF's bare 403. The rate rules look at the last minute, so a minute.
 */
export const WAF_RETRY_AFTER_SECONDS = 60;
const BLOCKED_BODY_KEY = 'retry';
export const wafBlockedBody = errorBody(
  'RETRY',
  'Too many requests from your network; retry in a minute with the same Idempotency-Key',
);
const blockAsRetry = {
  block: {
    customResponse: {
      responseCode: 429,
      customResponseBodyKey: BLOCKED_BODY_KEY,
      responseHeaders: [{ name: 'Retry-After', value: String(WAF_RETRY_AFTER_SECONDS) }],
    },
  },
};

/** The routes with a per-IP rule of their own, by wiring key: a rename in the wiring follows here. */
export const RATE_LIMITED_ROUTES = {
  checkout: 'placeOrder',
  join: 'joinQueue',
} as const satisfies Record<string, FunctionKey>;

/**
 * A WAFv2 web ACL with per-IP rate-based rules on the checkout and on joining the line (plus,
 * optionally, one on every request and AWS's Bot Control). `scope` REGIONAL attaches to the API
 * stage (`attachWebAcl`); CLOUDFRONT attaches through a distribution's `webAclId`, and WAF only
 * accepts a CLOUDFRONT web ACL created in us-east-1, so it must live in a stack deployed there.
 */
export function flashSaleWebAcl(
  scope: Construct,
  id: string,
  props: { scope: 'REGIONAL' | 'CLOUDFRONT'; metricPrefix: string; limits: WafLimits },
): wafv2.CfnWebACL {
  const { limits, metricPrefix } = props;
  const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
    cloudWatchMetricsEnabled: true,
    sampledRequestsEnabled: true,
    metricName: `${metricPrefix}-${name}`,
  });
  const perIpOnRoute = (name: string, fn: FunctionKey, perMinute: number, priority: number) => ({
    name: `${name}PerIp`,
    priority,
    action: blockAsRetry,
    statement: {
      rateBasedStatement: {
        limit: perMinute,
        evaluationWindowSec: 60,
        aggregateKeyType: 'IP',
        scopeDownStatement: routeStatement(fn),
      },
    },
    visibilityConfig: visibility(`${name}-per-ip`),
  });
  const rules: wafv2.CfnWebACL.RuleProperty[] = [
    perIpOnRoute('Checkout', RATE_LIMITED_ROUTES.checkout, limits.checkoutPerMinute, 0),
    perIpOnRoute('Join', RATE_LIMITED_ROUTES.join, limits.joinPerMinute, 1),
  ];
  if (limits.allPer5Minutes !== undefined) {
    rules.push({
      name: 'RatePerIp',
      priority: 2,
      action: blockAsRetry,
      statement: { rateBasedStatement: { limit: limits.allPer5Minutes, aggregateKeyType: 'IP' } },
      visibilityConfig: visibility('rate-per-ip'),
    });
  }
  if (limits.botControl) {
    rules.push({
      name: 'BotControl',
      priority: 3,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name: 'AWSManagedRulesBotControlRuleSet',
          managedRuleGroupConfigs: [{ awsManagedRulesBotControlRuleSet: { inspectionLevel: 'COMMON' } }],
        },
      },
      visibilityConfig: visibility('bot-control'),
    });
  }
  return new wafv2.CfnWebACL(scope, id, {
    scope: props.scope,
    defaultAction: { allow: {} },
    visibilityConfig: visibility('web-acl'),
    customResponseBodies: {
      [BLOCKED_BODY_KEY]: { contentType: 'APPLICATION_JSON', content: wafBlockedBody },
    },
    rules,
  });
}

/** Attaches a REGIONAL web ACL to an API Gateway stage (or a load balancer) by ARN. */
export function attachWebAcl(scope: Construct, id: string, acl: wafv2.CfnWebACL, resourceArn: string) {
  return new wafv2.CfnWebACLAssociation(scope, id, { resourceArn, webAclArn: acl.attrArn });
}

/**
 * Matches one wiring route: its method, and its path template as a regex on the URI path that
 * also allows what sits in front of it (the stage `/v1`, a CloudFront or custom-domain base path).
 */
export function routeStatement(fn: FunctionKey): wafv2.CfnWebACL.StatementProperty {
  const http = functionSpecs[fn].http;
  if (!http) throw new Error(`WAF: ${fn} has no http route in the wiring`);
  const none = [{ priority: 0, type: 'NONE' }];
  return {
    andStatement: {
      statements: [
        {
          byteMatchStatement: {
            fieldToMatch: { method: {} },
            positionalConstraint: 'EXACTLY',
            searchString: http.method,
            textTransformations: none,
          },
        },
        {
          regexMatchStatement: {
            fieldToMatch: { uriPath: {} },
            regexString: routeRegex(http.path),
            textTransformations: none,
          },
        },
      ],
    },
  };
}

/** `/sales/{saleId}/orders` → `/sales/[^/]+/orders/?$`: a parameter is one path segment. */
export function routeRegex(path: string): string {
  return `${path.replace(/\{\w+\}/g, '[^/]+')}/?$`;
}
