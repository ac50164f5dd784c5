import { type BundlingOptions, LogLevel, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/**
 * ESM bundles still contain CommonJS dependencies that call `require`; esbuild's ESM output
 * has no `require`, so every bundle starts by making one (the usual banner, aliased so it
 * cannot collide with an import of the same name).
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'node:module';const require = topLevelCreateRequire(import.meta.url);";

/**
 * THE bundling options of every function (the one place they are defined). The CDK app passes
 * them to NodejsFunction; `esbuildOptions` below turns them into esbuild JS API options so a
 * benchmark can build byte-for-byte comparable bundles without CDK.
 */
export const bundling = {
  format: OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  // Prefer packages' ESM builds: better tree shaking (the AWS SDK, Powertools, zod).
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  // Bundle the AWS SDK instead of using the runtime's copy: pinned version, and tree shaken
  // bundles cold-start faster than resolving the runtime's full SDK.
  bundleAwsSDK: true,
  externalModules: [] as string[],
  banner: ESM_REQUIRE_BANNER,
  logLevel: LogLevel.WARNING,
} as const satisfies BundlingOptions & { platform: 'node' };

/** The file NodejsFunction writes for ESM output (`index.mjs`). */
export const BUNDLE_FILE = 'index.mjs';

/** NodejsFunction's bundling props (CDK decides platform itself). */
export function nodejsBundlingProps(): BundlingOptions {
  const { platform: _platform, mainFields, externalModules, ...rest } = bundling;
  return { ...rest, mainFields: [...mainFields], externalModules: [...externalModules] };
}

/** The same build through esbuild's JS API, e.g. `await esbuild.build(esbuildOptions(entry, outdir))`. */
export function esbuildOptions(entryPoint: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entryPoint],
    outfile: `${outdir.replace(/\/$/, '')}/${BUNDLE_FILE}`,
    bundle: true,
    platform: bundling.platform,
    format: 'esm',
    target: bundling.target,
    mainFields: [...bundling.mainFields],
    minify: bundling.minify,
    sourcemap: bundling.sourceMap ? 'linked' : false,
    sourcesContent: bundling.sourcesContent,
    external: [...bundling.externalModules],
    banner: { js: bundling.banner },
    logLevel: 'warning',
  };
}
