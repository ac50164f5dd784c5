import { buyerPageSuite } from './buyer-page-suite.ts';

// Served at the root of its origin, as behind CloudFront and by `npm start`.
buyerPageSuite('');
