/**
 * The resolver that gives bundles their template's environment: every expression the CDK app
 * writes resolves to the stand-ins, across stacks; anything unknown fails loudly.
 */
import { describe, expect, it } from 'vitest';
import { Resolver, type Template } from './lib/cloudformation.ts';

const templates: Record<string, Template> = {
  Data: {
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table' },
      Secret: { Type: 'AWS::SecretsManager::Secret' },
      Pool: { Type: 'AWS::Cognito::UserPool' },
    },
    Outputs: {
      TableName: { Value: { Ref: 'Table' }, Export: { Name: 'Data:TableName' } },
      TableArn: {
        Value: { 'Fn::GetAtt': ['Table', 'Arn'] },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
        Export: { Name: { 'Fn::Sub': '${AWS::StackName}:Arn' } },
      },
      SecretRef: { Value: { Ref: 'Secret' }, Export: { Name: 'Data:Secret' } },
    },
  },
  Code: { Resources: {} },
};
const resolver = new Resolver(
  templates,
  {
    Data: {
      Table: {
        ref: 'local-sales',
        attributes: { Arn: 'arn:aws:dynamodb:eu-west-1:000000000000:table/local-sales' },
      },
      Secret: { ref: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:Secret-AbCdEf' },
    },
    Code: {},
  },
  { region: 'eu-west-1', accountId: '000000000000' },
);

describe('Resolver', () => {
  it('resolves imports across stacks, joins, subs, selects and pseudo parameters', () => {
    expect(resolver.resolveString({ 'Fn::ImportValue': 'Data:TableName' }, 'Code')).toBe('local-sales');
    expect(resolver.resolveString({ 'Fn::ImportValue': 'Data:Arn' }, 'Code')).toMatch(/table\/local-sales$/);
    expect(
      resolver.resolveString(
        { 'Fn::Join': ['', ['https://x.', { Ref: 'AWS::Region' }, '.example']] },
        'Code',
      ),
    ).toBe('https://x.eu-west-1.example');
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
      resolver.resolveString({ 'Fn::Sub': ['${A}-${AWS::AccountId}', { A: 'a' }] }, 'Code'),
    ).toBe('a-000000000000');
    expect(resolver.resolveString({ 'Fn::Select': [1, { 'Fn::Split': [',', 'x,y,z'] }] }, 'Code')).toBe('y');
    expect(resolver.resolveString('plain', 'Code')).toBe('plain');
  });

  it('turns a Secrets Manager dynamic reference into one stable random secret', () => {
    const reference = {
      'Fn::Join': [
        '',
        ['{{resolve:secretsmanager:', { 'Fn::ImportValue': 'Data:Secret' }, ':SecretString:::}}'],
      ],
    };
    const first = resolver.resolveString(reference, 'Code');
    expect(first).not.toContain('resolve:');
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(resolver.resolveString(reference, 'Code')).toBe(first);
  });

  it('fails on what it has no stand-in for, naming it', () => {
    expect(() => resolver.resolveString({ Ref: 'Pool' }, 'Data')).toThrow(/Pool \(AWS::Cognito::UserPool\)/);
    expect(() => resolver.resolveString({ 'Fn::ImportValue': 'Nope' }, 'Code')).toThrow(
      'No stack exports Nope',
    );
    expect(() => resolver.resolveString({ 'Fn::If': ['C', 'a', 'b'] }, 'Code')).toThrow(
      /cannot resolve Fn::If/,
    );
    expect(() => resolver.resolveString({ 'Fn::GetAtt': ['Secret', 'Name'] }, 'Data')).toThrow(
      /no stand-in for Secret\.Name/,
    );
  });
});
