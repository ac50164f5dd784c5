import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * Stripe's published OpenAPI document, cut to the operations the Stripe adapter calls
 * (test/fixtures/stripe/README.md): what Prism checks the adapter's traffic against, and where the
 * stand-in reads which parameters each operation takes.
 */
export const STRIPE_CONTRACT = fileURLToPath(
  new URL('../fixtures/stripe/payments.openapi.yaml', import.meta.url),
);

interface DocumentedOperation {
  method: string;
  path: RegExp;
  parameters: Set<string>;
}

const STRIPE_OPERATIONS = documentedOperations(STRIPE_CONTRACT);

function documentedOperations(file: string): DocumentedOperation[] {
  type Operation = {
    parameters?: { in: string; name: string }[];
    requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
  };
  const document = parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(document.paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'delete'].includes(method))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        parameters: new Set([
          ...(operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          ...Object.keys(
            operation.requestBody?.content?.['application/x-www-form-urlencoded']?.schema?.properties ?? {},
          ),
        ]),
      })),
  );
}

/** A top-level parameter (`name` of `name[…]`) the operation does not take, as Stripe refuses it. */
export function unknownParameter(method: string, path: string, form: URLSearchParams): string | undefined {
  const operation = STRIPE_OPERATIONS.find((o) => o.method === method && o.path.test(path));
  if (!operation) return undefined;
  return [...form.keys()]
    .map((key) => key.split('[')[0] ?? key)
    .find((name) => !operation.parameters.has(name));
}
