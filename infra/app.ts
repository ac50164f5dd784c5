import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from './build-app.ts';

// `cdk synth|deploy` entry point (cdk.json: "npx tsx infra/app.ts"). cdk-nag runs on every synth:
// an unacknowledged AwsSolutions finding fails synthesis.
const app = new App();
buildApp(app);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
