import { buyerPageSuite } from './buyer-page-suite.ts';

// Under a prefix, as on the execute-api URL (`/v1/`): `npm start -- --base-path /v1`.
buyerPageSuite('/v1');
