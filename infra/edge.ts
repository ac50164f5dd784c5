import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import type { Settings } from './settings.ts';

/** Longest any edge copy may live; the origin's own `max-age` (PUBLIC_MAX_AGE_SECONDS) decides below it. */
export const EDGE_MAX_TTL_SECONDS = 60;

/**
 * Paths whose GET answers are public documents (`Cache-Control: public, max-age=N`): the room a
 * waiting crowd polls and the sale. CloudFront matches behaviours in this order; `/sales/*`+`/*`
 * (orders, queue) comes between them so only `/sales/{id}` itself is cached, not its children.
 */
export const PUBLIC_DOCUMENT_PATHS = ['/sales/*/room', '/sales/*'] as const;
export const PRIVATE_UNDER_SALES = '/sales/*/*';

/**
 * CloudFront in front of the REST API (README "Waiting room"): the page at `/`, the API under the
 * same origin, the public documents cached for their max-age with request collapsing, so a
 * polling crowd reaches a function about once per max-age per edge location instead of once per
 * poll. `Authorization` is forwarded everywhere and is part of every cache key, and everything
 * else is answered by the origin on every request (TTL 0 unless the origin says public), so no
 * buyer's answer is ever served to another.
 */
export class Edge extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly publicDocuments: cloudfront.CachePolicy;
  readonly passThrough: cloudfront.CachePolicy;

  constructor(scope: Construct, id: string, props: { settings: Settings; api: apigw.RestApi }) {
    super(scope, id);
    const { settings } = props;
    const origin = new origins.RestApiOrigin(props.api);
    // API Gateway routes by its own Host: every viewer header but Host goes to the origin.
    const originRequestPolicy = cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER;

    this.publicDocuments = new cloudfront.CachePolicy(this, 'PublicDocuments', {
      comment: `Flash sale ${settings.stage}: public documents, kept for the origin's max-age`,
      defaultTtl: Duration.seconds(0),
      minTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(EDGE_MAX_TTL_SECONDS),
      // In the key so a request that carries a token never shares an entry with another bearer,
      // and an answer's Access-Control-Allow-Origin (set per Origin by -c corsOrigins) is never
      // served to another origin.
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Authorization', 'Origin'),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    this.passThrough = new cloudfront.CachePolicy(this, 'PassThrough', {
      comment: `Flash sale ${settings.stage}: API answers, never kept unless the origin marks them public`,
      defaultTtl: Duration.seconds(0),
      minTtl: Duration.seconds(0),
      // CloudFront forwards Authorization on GET only when the cache key names it, and a key
      // with headers needs a TTL above 0; answers without `public` are still never stored.
      maxTtl: Duration.seconds(1),
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Authorization', 'Origin'),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    });

    const api: cloudfront.BehaviorOptions = {
      origin,
      cachePolicy: this.passThrough,
      originRequestPolicy,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      compress: true,
    };
    const cached: cloudfront.BehaviorOptions = { ...api, cachePolicy: this.publicDocuments };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Flash sale ${settings.stage}: buyer page and API`,
      defaultBehavior: api,
      additionalBehaviors: {
        [PUBLIC_DOCUMENT_PATHS[0]]: { ...cached, allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD },
        [PRIVATE_UNDER_SALES]: api,
        // PATCH /sales/{id} (operators) passes through: CloudFront caches GET and HEAD only.
        [PUBLIC_DOCUMENT_PATHS[1]]: cached,
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'A flash sale is open to every country the shop sells to; no geo restriction by default.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'WAF on the edge is the security configuration’s decision (docs/DEPLOY.md); API Gateway throttles and reserved concurrency bound abuse behind it.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'API Gateway access logs record every request that reaches the origin; edge hits are cached public documents.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default CloudFront certificate (*.cloudfront.net) fixes the viewer TLS policy; set a TLSv1.2_2021 minimum when a custom domain and certificate are added (docs/DEPLOY.md).',
      },
    );
  }

  /** The page and the API, one origin: `https://<id>.cloudfront.net/`. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}/`;
  }
}
