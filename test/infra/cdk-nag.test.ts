import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { synthPulse } from './synth.ts';

/** Every acknowledgement in the tree: rule id, reason, and where. */
function acknowledgements(root: IConstruct): Array<{ id: string; reason: string; path: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          id,
          reason,
          path: c.node.path,
        })),
      ),
  );
}

// Two configurations cover every conditional acknowledgement: the default (single-AZ, NAT) and
// production without internet egress (Multi-AZ, deletion protection, VPC endpoints, no ingest).
const variants = {
  default: synthPulse(),
  'production, endpoints': synthPulse({
    'pulse:production': 'true',
    'pulse:egress': 'endpoints',
    'pulse:reservedConcurrency': '1',
  }),
};

describe('cdk-nag AwsSolutions', () => {
  it.each(Object.keys(variants))('finds nothing unacknowledged in the %s stack', (name) => {
    const { stack } = variants[name as keyof typeof variants];
    const report = new AwsSolutionsChecks().validateScope(stack.node.root);
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges each rule with a written reason', () => {
    // (aws-cdk-lib acknowledges some of its own CloudFormation-Validate warnings; those are not ours.)
    const acks = acknowledgements(variants.default.stack.node.root).filter((a) =>
      a.id.includes('AwsSolutions-'),
    );
    expect(acks.length).toBeGreaterThan(5);
    for (const ack of acks) {
      expect(ack.reason.split(' ').length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(8);
    }
  });

  it('does not acknowledge production-only findings in production', () => {
    const ids = acknowledgements(variants['production, endpoints'].stack.node.root).map((a) =>
      a.id.replace(/^Annotation::/, ''),
    );
    expect(ids).not.toContain('AwsSolutions-RDS3');
    expect(ids).not.toContain('AwsSolutions-RDS10');
    variants['production, endpoints'].template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      Properties: { DeletionProtection: true, MultiAZ: true, BackupRetentionPeriod: 14 },
    });
  });

  it('still reports a finding that nobody acknowledged', () => {
    const app = new App();
    const stack = new Stack(app, 'Probe');
    new Queue(stack, 'Plain', { enforceSSL: false });
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
  });
});

describe('egress by VPC endpoints', () => {
  const { template } = variants['production, endpoints'];

  it('replaces the NAT gateway with Secrets Manager, CloudWatch and Logs endpoints, and S3 (model store) by gateway', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const services = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map(
      (e) => JSON.stringify(e.Properties.ServiceName).match(/\.(secretsmanager|monitoring|logs|s3)"/)?.[1],
    );
    expect(services.sort()).toEqual(['logs', 'monitoring', 's3', 'secretsmanager']);
  });

  it('lets the rotation functions reach Secrets Manager through its endpoint', () => {
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties)
      .filter((r) => r.FromPort === 443)
      .map((r) => r.SourceSecurityGroupId['Fn::GetAtt'][0] as string);
    expect(ingress.filter((id) => id.startsWith('NetworkRotationSg'))).toHaveLength(1);
  });

  it('reserves the concurrency it is asked for (opt-in)', () => {
    const reserved = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.ReservedConcurrentExecutions)
      .filter((n) => n !== undefined);
    expect(reserved).toEqual([1, 1]); // forecast and evaluate; no ingest without internet egress
  });

  it('deploys no ingest function, which would have no route to its source', () => {
    const schedules = Object.values(template.findResources('AWS::Events::Rule'))
      .map((r) => r.Properties.ScheduleExpression)
      .filter(Boolean)
      .sort();
    // evaluate, the monthly retraining cycle, forecast
    expect(schedules).toEqual(['cron(17 * * * ? *)', 'cron(37 3 1 * ? *)', 'cron(7 * * * ? *)']);
  });
});
