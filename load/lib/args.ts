/** Flag/env helpers for the CLIs in load/ and bench/: every number is checked against bounds. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A CLI's flags: `strings` take a value, `flags` are booleans (false when absent), `-h`/`--help`
 * prints `help`. Unknown flags are refused. Undefined when help was printed.
 */
export function parseFlags<S extends string, B extends string = never>(
  argv: string[],
  help: string,
  strings: readonly S[],
  flags: readonly B[] = [],
): ({ [K in S]: string | undefined } & { [K in B]: boolean }) | undefined {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; default?: boolean; short?: string }> =
    {
      help: { type: 'boolean', short: 'h' },
    };
  for (const name of strings) options[name] = { type: 'string' };
  for (const name of flags) options[name] = { type: 'boolean', default: false };
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help) {
    console.log(help);
    return undefined;
  }
  return values as { [K in S]: string | undefined } & { [K in B]: boolean };
}

export function numberOption(
  name: string,
  flag: string | undefined,
  envName: string | undefined,
  fallback: number | undefined,
  bounds: { min: number; max: number; integer?: boolean },
): number | undefined {
  const raw = flag ?? (envName ? process.env[envName] : undefined);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (
    !Number.isFinite(value) ||
    value < bounds.min ||
    value > bounds.max ||
    (bounds.integer && !Number.isInteger(value))
  ) {
    throw new UsageError(
      `--${name}${envName ? ` (or ${envName})` : ''} must be ${bounds.integer ? 'an integer' : 'a number'} from ${bounds.min} to ${bounds.max}, got ${raw}`,
    );
  }
  return value;
}

export function stringOption(flag: string | undefined, envName: string): string | undefined {
  const value = flag ?? process.env[envName];
  return value === '' ? undefined : value;
}

/** Runs a CLI's main: usage errors exit 2 with the message, anything else exits 1 with the stack. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
        console.error((error as Error).message);
        process.exit(2);
      }
      console.error(error);
      process.exit(1);
    },
  );
}
