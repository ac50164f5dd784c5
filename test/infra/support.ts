import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll } from 'vitest';
import { type BuiltApp, buildApp } from '../../infra/build-app.ts';
import { REPO_ROOT } from '../../infra/functions.ts';
import type { Settings } from '../../infra/settings.ts';

/** The context `cdk synth` uses (feature flags in cdk.json), so tests see the same templates. */
export const cdkJsonContext: Record<string, unknown> = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'),
).context;

/** Cloud assemblies written by this test file's synths; removed when the file is done. */
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cloud assembly directory that is removed when the test file is done. */
export function tempOutdir(): string {
  const outdir = mkdtempSync(path.join(tmpdir(), 'flash-sale-cdk-test-'));
  outdirs.push(outdir);
  return outdir;
}

export interface Synthesized {
  app: App;
  built: BuiltApp;
  stateful: Template;
  stateless: Template;
}

/**
 * Builds and synthesizes the app. `bundle: false` (the default) skips esbuild via CDK's own
 * `aws:cdk:bundling-stacks` context (what `cdk synth --exclusively` uses), which keeps the
 * template identical except for asset hashes; test/infra/bundling.test.ts bundles for real.
 */
export function synth(
  options: { context?: Record<string, unknown>; overrides?: Partial<Settings>; bundle?: boolean } = {},
): Synthesized {
  const app = new App({
    outdir: tempOutdir(),
    context: {
      ...cdkJsonContext,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const built = buildApp(app, options.overrides);
  app.synth();
  return {
    app,
    built,
    stateful: Template.fromStack(built.stateful),
    stateless: Template.fromStack(built.stateless),
  };
}

/** Logical id of a construct's CloudFormation resource (its default child for L2s). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

export type Json = Record<string, unknown>;

export function resourcesOfType(template: Template, type: string): Record<string, Json> {
  return template.findResources(type) as Record<string, Json>;
}

export function props(resource: Json): Json {
  return (resource.Properties ?? {}) as Json;
}

/** True when `value` (any CloudFormation expression) refers to the given logical id. */
export function mentions(value: unknown, id: string): boolean {
  return JSON.stringify(value).includes(id);
}
