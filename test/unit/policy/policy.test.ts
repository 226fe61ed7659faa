import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hintFor } from '../../../src/aws/errors.js';
import { allows, iamActionFor, policyDocument, type PolicyDocument, type PolicyStatement } from '../../../src/policy/policy.js';

const policy = policyDocument();

/** The Allow statements that grant this action, exactly or by a wildcard such as `ec2:Describe*`. */
function statementsWith(doc: PolicyDocument, action: string): PolicyStatement[] {
  return doc.Statement.filter((s) => s.Effect === 'Allow' && allows({ Version: '2012-10-17', Statement: [s] }, action));
}

/** The trace's service name for each SDK package src/ imports commands from. */
const TRACE_SERVICE: Record<string, string> = {
  'client-ecs': 'ECS',
  'client-ecr': 'ECR',
  'client-elastic-load-balancing-v2': 'ElasticLoadBalancingV2',
  'client-ec2': 'EC2',
  'client-iam': 'IAM',
  'client-cloudwatch-logs': 'CloudWatchLogs',
  'client-servicediscovery': 'ServiceDiscovery',
  'client-sts': 'STS',
  'client-application-auto-scaling': 'ApplicationAutoScaling',
  'client-route-53': 'Route53',
};

/** Every `new XCommand(` in src/ outside the local emulator, with the package it comes from. */
function commandsInSource(): Array<{ file: string; service: string; operation: string }> {
  const found: Array<{ file: string; service: string; operation: string }> = [];
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.startsWith('local'));
  for (const file of files) {
    const text = readFileSync(join('src', file), 'utf8');
    for (const [, names, pkg] of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/([^']+)'/g)) {
      for (const name of names!.split(',').map((n) => n.trim())) {
        const operation = /^(\w+)Command$/.exec(name)?.[1];
        if (operation && text.includes(`new ${name}(`)) found.push({ file, service: TRACE_SERVICE[pkg!] ?? pkg!, operation });
      }
    }
  }
  return found;
}

describe('policyDocument', () => {
  it('fits in one customer managed policy: at most 6,144 characters without whitespace, even for the longest stack name and an adopted role', () => {
    // IAM counts every character but whitespace; JSON.stringify without indentation has none outside strings, and the policy's strings have none.
    const longest = policyDocument({ stack: 'a'.repeat(28), executionRole: `arn:aws:iam::123456789012:role/${'r'.repeat(64)}` });
    for (const document of [policyDocument(), longest]) expect(JSON.stringify(document).length).toBeLessThanOrEqual(6_144);
  });

  it('is a valid IAM document: Version 2012-10-17, every statement with a unique Sid, Effect, Action and Resource', () => {
    const parsed = JSON.parse(JSON.stringify(policy)) as PolicyDocument;
    expect(parsed.Version).toBe('2012-10-17');
    expect(parsed.Statement.length).toBeGreaterThan(5);
    for (const s of parsed.Statement) {
      expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/); // IAM allows only alphanumerics in a Sid
      expect(s.Effect).toBe('Allow');
      expect(s.Action.length).toBeGreaterThan(0);
      for (const action of s.Action) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9*]+$/);
      expect(s.Resource.length).toBeGreaterThan(0);
    }
    expect(new Set(parsed.Statement.map((s) => s.Sid)).size).toBe(parsed.Statement.length);
    // A managed policy holds at most 6,144 characters, whitespace excluded.
    expect(JSON.stringify(policy).length).toBeLessThan(6144);
  });

  it('allows every SDK command the code sends (outside the local emulator)', () => {
    const commands = commandsInSource();
    expect(commands.length).toBeGreaterThan(50);
    const missing = commands
      .filter((c) => !(c.service === 'STS' && c.operation === 'GetCallerIdentity'))
      .filter((c) => !allows(policy, iamActionFor(c.service, c.operation)))
      .map((c) => `${iamActionFor(c.service, c.operation)} (${c.file})`);
    expect(missing).toEqual([]);
  });

  it('has the tag actions that creating with tags needs', () => {
    for (const action of ['ecs:TagResource', 'elasticloadbalancing:AddTags', 'logs:TagResource', 'iam:TagRole', 'ec2:CreateTags', 'ecr:TagResource', 'servicediscovery:TagResource']) {
      expect(allows(policy, action), action).toBe(true);
    }
    expect(statementsWith(policy, 'ec2:CreateTags')[0]!.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' } });
  });

  it('passes the task execution role only to ECS tasks, and the infrastructure role only to ECS', () => {
    const [pass, ...others] = statementsWith(policy, 'iam:PassRole');
    // The only other: the infrastructure role, to ECS itself (native blue/green, linear, canary).
    expect(others).toEqual([expect.objectContaining({ Resource: 'arn:aws:iam::*:role/*-ecs-infra', Condition: expect.objectContaining({ StringEqualsIfExists: { 'iam:PassedToService': 'ecs.amazonaws.com' } }) })]);
    expect(pass!.Action).toEqual(['iam:PassRole']);
    expect(pass!.Resource).toBe('arn:aws:iam::*:role/*-task-execution');
    expect(pass!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    const slr = 'arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS';
    for (const s of policy.Statement.filter((s) => s.Action.some((a) => a.startsWith('iam:')))) {
      if (s.Action.includes('iam:CreateServiceLinkedRole')) {
        expect(s.Condition?.StringEquals?.['iam:AWSServiceName']).toContain('ecs.amazonaws.com');
        expect(s.Resource).toBe('arn:aws:iam::*:role/aws-service-role/*');
      } else if (s.Resource === slr) {
        expect(s.Action).toEqual(['iam:GetRole']); // `up` only looks the service-linked role up
      } else {
        // Only the stack's own roles: the task execution role and the infrastructure role.
        for (const resource of [s.Resource].flat()) expect(resource).toMatch(/^arn:aws:iam::\*:role\/\*-(task-execution|ecs-infra)$/);
      }
    }
    // The infrastructure role gets only its own managed policy attached.
    expect(statementsWith(policy, 'iam:AttachRolePolicy')[1]!.Condition).toMatchObject({
      ArnEqualsIfExists: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers' },
    });
    // Another role may be neither changed nor passed.
    expect(allows(policy, 'iam:DeleteRole', 'arn:aws:iam::123456789012:role/admin')).toBe(false);
    expect(allows(policy, 'iam:PassRole', 'arn:aws:iam::123456789012:role/admin')).toBe(false);
    expect(allows(policy, 'iam:PassRole', 'arn:aws:iam::123456789012:role/shop-task-execution')).toBe(true);
    expect(statementsWith(policy, 'iam:AttachRolePolicy')[0]!.Condition).toEqual({
      ArnEquals: { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy' },
    });
  });

  it('has what Cloud Map needs for a private DNS namespace and its A records, and what docker push needs', () => {
    for (const action of ['route53:CreateHostedZone', 'route53:GetHostedZone', 'route53:ListHostedZonesByName', 'route53:ChangeResourceRecordSets', 'route53:CreateHealthCheck', 'route53:GetHealthCheck', 'route53:UpdateHealthCheck', 'route53:DeleteHealthCheck', 'route53:DeleteHostedZone', 'route53:AssociateVPCWithHostedZone', 'ec2:DescribeVpcs', 'ec2:DescribeRegions']) {
      expect(allows(policy, action), action).toBe(true);
    }
    for (const action of ['ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']) {
      expect(statementsWith(policy, action)[0]!.Resource, action).toBe('arn:aws:ecr:*:*:repository/*');
    }
    expect(statementsWith(policy, 'ecr:GetAuthorizationToken')[0]!.Resource).toBe('*');
  });

  it('scopes logs to /ecs/* and, with a stack, every named resource to that stack', () => {
    expect(statementsWith(policy, 'logs:CreateLogGroup')[0]!.Resource).toBe('arn:aws:logs:*:*:log-group:/ecs/*');
    const scoped = policyDocument({ stack: 'shop' });
    // The regional role name `up` gives (shop-<region>-task-execution) and the older shop-task-execution.
    expect(statementsWith(scoped, 'iam:PassRole')[0]!.Resource).toEqual(['arn:aws:iam::*:role/shop-*-task-execution', 'arn:aws:iam::*:role/shop-task-execution']);
    expect(allows(scoped, 'iam:DeleteRole', 'arn:aws:iam::123456789012:role/shop-eu-west-1-task-execution')).toBe(true);
    expect(allows(scoped, 'iam:DeleteRole', 'arn:aws:iam::123456789012:role/cart-eu-west-1-task-execution')).toBe(false);
    expect(statementsWith(scoped, 'logs:CreateLogGroup')[0]!.Resource).toEqual(['arn:aws:logs:*:*:log-group:/ecs/shop', 'arn:aws:logs:*:*:log-group:/ecs/shop:*']);
    expect(statementsWith(scoped, 'ecr:PutImage')[0]!.Resource).toBe('arn:aws:ecr:*:*:repository/shop');
    expect(statementsWith(scoped, 'elasticloadbalancing:DeleteLoadBalancer')[0]!.Resource).toContain('arn:aws:elasticloadbalancing:*:*:loadbalancer/app/shop-alb/*');
    expect(statementsWith(scoped, 'ec2:DeleteSecurityGroup')[0]!.Condition).toEqual({ StringLike: { 'aws:ResourceTag/ecs-ha:stack': 'shop' } });
    // Scoping changes resources, never the actions.
    expect(scoped.Statement.flatMap((s) => s.Action)).toEqual(policy.Statement.flatMap((s) => s.Action));
  });

  it('has what `up --autoscale` and `down` need: the scalable target and policy, their tag, the alarms and the service-linked role', () => {
    for (const action of [
      'application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy', 'application-autoscaling:DeleteScalingPolicy',
      'application-autoscaling:DeregisterScalableTarget', 'application-autoscaling:TagResource', 'application-autoscaling:ListTagsForResource',
      'application-autoscaling:DescribeScalableTargets', 'application-autoscaling:DescribeScalingPolicies', 'application-autoscaling:DescribeScalingActivities',
      'cloudwatch:DescribeAlarms',
    ]) {
      expect(allows(policy, action), action).toBe(true);
    }
    // The wildcards that keep the document short match exactly those actions, nothing else of the API.
    for (const action of ['application-autoscaling:PutScheduledAction', 'application-autoscaling:DeleteScheduledAction', 'application-autoscaling:UntagResource']) {
      expect(allows(policy, action), action).toBe(false);
    }
    // Target tracking makes and removes its own alarms: those, not the account's others.
    expect(allows(policy, 'cloudwatch:PutMetricAlarm', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:TargetTracking-service/shop/shop-AlarmHigh-7faa8c36')).toBe(true);
    expect(allows(policy, 'cloudwatch:DeleteAlarms', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:TargetTracking-service/shop/shop-AlarmLow-aec8c8ca')).toBe(true);
    expect(allows(policy, 'cloudwatch:DeleteAlarms', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing-over-100')).toBe(false);
    // The first RegisterScalableTarget of an ECS service in an account creates Application Auto Scaling's role for ECS.
    const role = 'arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService';
    expect(allows(policy, 'iam:CreateServiceLinkedRole', role)).toBe(true);
    expect(statementsWith(policy, 'iam:CreateServiceLinkedRole')[0]!.Condition?.StringEquals?.['iam:AWSServiceName']).toContain('ecs.application-autoscaling.amazonaws.com');
    // Only these services' roles: IAM evaluates the condition (the tests' `allows` does not).
    expect(statementsWith(policy, 'iam:CreateServiceLinkedRole')[0]!.Condition).toEqual({
      StringEquals: { 'iam:AWSServiceName': ['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com', 'ecs.application-autoscaling.amazonaws.com'] },
    });
  });

  it('with an adopted execution role, may read and pass it but not change it', () => {
    const doc = policyDocument({ executionRole: 'arn:aws:iam::123456789012:role/team/app-exec' });
    expect(statementsWith(doc, 'iam:PassRole')[0]!.Resource).toEqual(['arn:aws:iam::*:role/*-task-execution', 'arn:aws:iam::123456789012:role/team/app-exec']);
    const adopted = doc.Statement.filter((s) => [s.Resource].flat().includes('arn:aws:iam::123456789012:role/team/app-exec'));
    expect(adopted.flatMap((s) => s.Action).sort()).toEqual(['iam:GetRole', 'iam:ListAttachedRolePolicies', 'iam:PassRole']);
    expect(statementsWith(policyDocument({ executionRole: 'my-role' }), 'iam:PassRole')[0]!.Resource).toContain('arn:aws:iam::*:role/my-role');
  });
});

describe('allows', () => {
  const doc: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'A', Effect: 'Allow', Action: ['ecs:Describe*', 'iam:GetRole', 'logs:?utRetentionPolicy'], Resource: '*' },
      { Sid: 'D', Effect: 'Deny', Action: ['ecs:DescribeTasks'], Resource: '*' },
    ],
  };

  it('matches exactly or by wildcard, case-insensitively like IAM', () => {
    expect(allows(doc, 'iam:GetRole')).toBe(true);
    expect(allows(doc, 'IAM:getrole')).toBe(true);
    expect(allows(doc, 'ecs:DescribeServices')).toBe(true);
    expect(allows(doc, 'ecs:describeclusters')).toBe(true);
    expect(allows(doc, 'logs:PutRetentionPolicy')).toBe(true);
  });

  it('with a resource, needs a statement whose Resource matches that ARN too', () => {
    const scoped: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'R', Effect: 'Allow', Action: ['iam:GetRole'], Resource: 'arn:aws:iam::*:role/*-task-execution' },
        { Sid: 'S', Effect: 'Allow', Action: ['iam:GetRole'], Resource: ['arn:aws:iam::*:role/other'] },
      ],
    };
    expect(allows(scoped, 'iam:GetRole', 'arn:aws:iam::123456789012:role/shop-task-execution')).toBe(true);
    expect(allows(scoped, 'iam:GetRole', 'arn:aws:iam::123456789012:role/other')).toBe(true);
    expect(allows(scoped, 'iam:GetRole', 'arn:aws:iam::123456789012:role/admin')).toBe(false);
    expect(allows(scoped, 'iam:GetRole', 'arn:aws:iam::123456789012:role/shop-task-execution-2')).toBe(false);
    expect(allows(doc, 'iam:GetRole', 'arn:aws:iam::123456789012:role/anything')).toBe(true); // Resource "*"
  });

  it('does not match a prefix, another service, or a denied action', () => {
    expect(allows(doc, 'iam:GetRolePolicy')).toBe(false);
    expect(allows(doc, 'ecs:ListTasks')).toBe(false);
    expect(allows(doc, 'ec2:DescribeVpcs')).toBe(false);
    expect(allows(doc, 'iam:GetRol')).toBe(false);
    expect(allows(doc, 'ecs:DescribeTasks')).toBe(false);
    expect(allows({ Version: '2012-10-17', Statement: [{ Sid: 'S', Effect: 'Allow', Action: ['ecs:Describe.*'], Resource: '*' }] }, 'ecs:DescribeXServices')).toBe(false);
  });
});

describe('iamActionFor', () => {
  it('maps the trace service names to IAM prefixes', () => {
    expect(iamActionFor('ElasticLoadBalancingV2', 'DescribeTargetHealth')).toBe('elasticloadbalancing:DescribeTargetHealth');
    expect(iamActionFor('CloudWatchLogs', 'CreateLogGroup')).toBe('logs:CreateLogGroup');
    expect(iamActionFor('ServiceDiscovery', 'GetOperation')).toBe('servicediscovery:GetOperation');
    expect(iamActionFor('ECS', 'StopTask')).toBe('ecs:StopTask');
    expect(iamActionFor('ECR', 'DescribeImages')).toBe('ecr:DescribeImages');
    expect(iamActionFor('EC2', 'CreateSecurityGroup')).toBe('ec2:CreateSecurityGroup');
    expect(iamActionFor('IAM', 'PassRole')).toBe('iam:PassRole');
    expect(iamActionFor('STS', 'GetCallerIdentity')).toBe('sts:GetCallerIdentity');
  });

  it('refuses a service it does not know, rather than guessing', () => {
    expect(() => iamActionFor('Lambda', 'Invoke')).toThrow(/no IAM prefix known for the AWS service "Lambda"/);
  });
});

describe('the AccessDenied hint', () => {
  it.each(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation'])('%s points to `ecs-ha policy`', (code) => {
    expect(hintFor(code)).toContain('lack permission');
    expect(hintFor(code)).toContain('`ecs-ha policy`');
  });
});
