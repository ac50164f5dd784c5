import { randomBytes } from 'node:crypto';

export type Json = Record<string, unknown>;
export interface Template {
  Resources: Record<string, { Type: string; Properties?: Json }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

/** What a deployed resource answers to `Ref` and `Fn::GetAtt`. */
export interface Physical {
  ref: string;
  attributes?: Record<string, string>;
}

/**
 * Resolves the CloudFormation expressions of a synthesized app (Ref, Fn::GetAtt, Fn::ImportValue
 * across stacks, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, pseudo parameters, Secrets Manager
 * dynamic references) against stand-ins for the deployed resources: the emulators' table names,
 * queue URLs and topic ARNs. Anything it cannot resolve throws, naming the expression, so a new
 * kind of reference in a template fails the artifact test instead of passing a wrong value.
 */
export class Resolver {
  private readonly secrets = new Map<string, string>();

  constructor(
    private readonly templates: Record<string, Template>,
    private readonly physical: Record<string, Record<string, Physical>>,
    private readonly pseudo: { region: string; accountId: string },
  ) {}

  resolveString(value: unknown, stack: string): string {
    const resolved = this.resolve(value, stack);
    if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean')
      throw new Error(`Expected a string in ${stack}, got ${JSON.stringify(value)}`);
    return this.dynamicReferences(String(resolved));
  }

  resolve(value: unknown, stack: string): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, stack));
    const entries = Object.entries(value as Json);
    if (entries.length !== 1) return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v, stack)]));
    const [fn, arg] = entries[0] as [string, unknown];
    switch (fn) {
      case 'Ref':
        return this.ref(arg as string, stack);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
        return this.getAtt(id as string, attribute as string, stack);
      }
      case 'Fn::ImportValue':
        return this.importValue(this.resolveString(arg, stack));
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (this.resolve(parts, stack) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        return (this.resolve(list, stack) as unknown[])[Number(this.resolve(index, stack))];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return this.resolveString(source, stack).split(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(arg) ? (arg as [string, Json]) : [arg as string, {}];
        return text.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
          if (name in variables) return this.resolveString(variables[name], stack);
          const [id, attribute] = name.split('.');
          return attribute
            ? String(this.getAtt(id as string, attribute, stack))
            : String(this.ref(id as string, stack));
        });
      }
      default:
        if (fn.startsWith('Fn::') || fn === 'Condition')
          throw new Error(`The artifact test cannot resolve ${fn} in ${stack}: ${JSON.stringify(value)}`);
        return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v, stack)]));
    }
  }

  private ref(id: string, stack: string): string {
    switch (id) {
      case 'AWS::Region':
        return this.pseudo.region;
      case 'AWS::AccountId':
        return this.pseudo.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack;
    }
    return this.resource(id, stack).ref;
  }

  private getAtt(id: string, attribute: string, stack: string): string {
    const value = this.resource(id, stack).attributes?.[attribute];
    if (value === undefined)
      throw new Error(`The artifact test has no stand-in for ${id}.${attribute} in ${stack}`);
    return value;
  }

  private resource(id: string, stack: string): Physical {
    const found = this.physical[stack]?.[id];
    if (found) return found;
    const type = this.templates[stack]?.Resources[id]?.Type ?? 'unknown';
    throw new Error(
      `A function's environment refers to ${id} (${type}) in ${stack}, which the artifact test does not stand in for; add it to test/artifacts/lib/assembly.ts`,
    );
  }

  private importValue(name: string): unknown {
    for (const [stack, template] of Object.entries(this.templates)) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export && this.resolveString(output.Export.Name, stack) === name)
          return this.resolve(output.Value, stack);
      }
    }
    throw new Error(`No stack exports ${name}`);
  }

  /** `{{resolve:secretsmanager:…}}` becomes a random secret, the same one for the same reference. */
  private dynamicReferences(text: string): string {
    return text.replace(/\{\{resolve:secretsmanager:([^}]+)\}\}/g, (_m, reference: string) => {
      let secret = this.secrets.get(reference);
      if (!secret) {
        secret = randomBytes(32).toString('base64url');
        this.secrets.set(reference, secret);
      }
      return secret;
    });
  }
}
