/**
 * The IAM policy every command needs (`up`, `verify`, `chaos`, `down`, `status`, `scale`, `logs` …), as data. `ecs-ha policy` prints it; a test
 * replays the commands with --trace and checks every call they made against it.
 *
 * Resources are scoped where the API supports resource-level permissions and the name is known in
 * advance (role, log group, repository, load balancer names derive from the stack); "*" where the
 * API has none (Describe/List calls, most create calls) or where AWS picks the ID (Cloud Map, Route 53).
 * sts:GetCallerIdentity needs no permission: AWS always allows it, so it has no statement.
 */
import { resourceNames } from '../config.js';

type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface PolicyScope {
  /** Scope names to this stack's resources; default: any stack's. */
  stack?: string;
  /** A role adopted with `up --execution-role` (name or ARN): read and passed, never changed. */
  executionRole?: string;
}

/** The managed policy `up` attaches to the role it creates; nothing else may be attached. */
const TASK_EXECUTION_POLICY_ARN = 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy';

const INFRA_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers';

const ECS_SERVICE_LINKED_ROLE_ARN = 'arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS';

/** Name patterns: one stack's names, or the same shapes for any stack. */
function patterns(stack: string | undefined) {
  if (stack === undefined) {
    return { roles: ['*-task-execution'], infraRole: '*-ecs-infra', logGroup: '/ecs/*', repository: '*', loadBalancer: '*-alb', targetGroup: '*-tg*', stackTag: '*' };
  }
  const names = resourceNames(stack);
  return {
    // The regional name `up` gives a new role (<stack>-<region>-task-execution), and the older one.
    roles: [`${stack}-*-task-execution`, names.legacyExecutionRole],
    // The role ECS assumes to shift load balancer traffic (`up --strategy blue-green|linear|canary`).
    infraRole: `${stack}-*-ecs-infra`,
    logGroup: names.logGroup,
    repository: names.repository,
    loadBalancer: names.loadBalancer,
    // `<stack>-tg` and, for the native strategies, `<stack>-tg2`.
    targetGroup: `${names.targetGroup}*`,
    stackTag: stack,
  };
}

function adoptedRoleArn(ref: string): string {
  return ref.startsWith('arn:') ? ref : `arn:aws:iam::*:role/${ref}`;
}

export function policyDocument(scope: PolicyScope = {}): PolicyDocument {
  const p = patterns(scope.stack);
  const roleArns = p.roles.map((role) => `arn:aws:iam::*:role/${role}`);
  const roleArn = roleArns.length === 1 ? roleArns[0]! : roleArns;
  const passable = scope.executionRole ? [...roleArns, adoptedRoleArn(scope.executionRole)] : roleArn;
  const infraRoleArn = `arn:aws:iam::*:role/${p.infraRole}`;
  // Log-group actions take the ARN with or without the trailing ":*", depending on the API.
  const logGroupArns = scope.stack === undefined ? `arn:aws:logs:*:*:log-group:${p.logGroup}` : [`arn:aws:logs:*:*:log-group:${p.logGroup}`, `arn:aws:logs:*:*:log-group:${p.logGroup}:*`];
  const elb = 'arn:aws:elasticloadbalancing:*:*';

  const statements: PolicyStatement[] = [
    {
      Sid: 'Ecs',
      Effect: 'Allow',
      // ECS task definition and task ARNs carry revisions and random IDs: kept on "*".
      Action: [
        'ecs:Describe*', 'ecs:List*', 'ecs:CreateCluster', 'ecs:DeleteCluster', 'ecs:RegisterTaskDefinition',
        'ecs:DeregisterTaskDefinition', 'ecs:DeleteTaskDefinitions', 'ecs:CreateService', 'ecs:UpdateService',
        'ecs:DeleteService', 'ecs:StopTask',
      ],
      Resource: '*',
    },
    {
      Sid: 'EcsTagOnCreate',
      Effect: 'Allow',
      // Creating with tags needs ecs:TagResource too; only as part of these creates.
      Action: ['ecs:TagResource'],
      Resource: '*',
      Condition: { StringEquals: { 'ecs:CreateAction': ['CreateCluster', 'CreateService', 'RegisterTaskDefinition'] } },
    },
    {
      Sid: 'ServiceLinkedRoles',
      Effect: 'Allow',
      // A new account has none of these roles: `up` creates ECS's, the first CreateLoadBalancer ELB's,
      // the first RegisterScalableTarget (`up --autoscale`) Application Auto Scaling's for ECS.
      Action: ['iam:CreateServiceLinkedRole'],
      // The condition names the services; the Resource is every service-linked role's path, as AWS's own examples write it.
      Resource: 'arn:aws:iam::*:role/aws-service-role/*',
      Condition: { StringEquals: { 'iam:AWSServiceName': ['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com', 'ecs.application-autoscaling.amazonaws.com'] } },
    },
    {
      Sid: 'EcsSlrLookup',
      Effect: 'Allow',
      // `up` reads it first, so that a re-run creates nothing.
      Action: ['iam:GetRole'],
      Resource: ECS_SERVICE_LINKED_ROLE_ARN,
    },
    {
      Sid: 'StackRoles',
      Effect: 'Allow',
      Action: [
        'iam:GetRole', 'iam:CreateRole', 'iam:TagRole', 'iam:ListAttachedRolePolicies', 'iam:DetachRolePolicy',
        'iam:ListRolePolicies', 'iam:DeleteRolePolicy', 'iam:DeleteRole',
      ],
      Resource: [...roleArns, infraRoleArn],
    },
    {
      Sid: 'ExecRolePolicy',
      Effect: 'Allow',
      // Only the execution policy: attaching anything else to a role ECS tasks run as would escalate.
      Action: ['iam:AttachRolePolicy'],
      Resource: roleArn,
      Condition: { ArnEquals: { 'iam:PolicyARN': TASK_EXECUTION_POLICY_ARN } },
    },
    {
      Sid: 'PassExecRole',
      Effect: 'Allow',
      // The task definition names the role; ECS may hand it to tasks only.
      Action: ['iam:PassRole'],
      Resource: passable,
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    },
    {
      Sid: 'InfraRole',
      Effect: 'Allow',
      // Only its managed policy, and passed to ECS only (the service's advancedConfiguration names it).
      Action: ['iam:AttachRolePolicy', 'iam:PassRole'],
      Resource: infraRoleArn,
      Condition: { ArnEqualsIfExists: { 'iam:PolicyARN': INFRA_POLICY_ARN }, StringEqualsIfExists: { 'iam:PassedToService': 'ecs.amazonaws.com' } },
    },
    ...(scope.executionRole
      ? [{ Sid: 'AdoptedExecRole', Effect: 'Allow' as const, Action: ['iam:GetRole', 'iam:ListAttachedRolePolicies'], Resource: adoptedRoleArn(scope.executionRole) }]
      : []),
    {
      Sid: 'LogGroup',
      Effect: 'Allow',
      // FilterLogEvents, DescribeLogStreams and StartLiveTail: `ecs-ha logs` (without live tail it polls).
      Action: [
        'logs:CreateLogGroup', 'logs:TagResource', 'logs:ListTagsForResource', 'logs:PutRetentionPolicy', 'logs:DeleteLogGroup',
        'logs:FilterLogEvents', 'logs:DescribeLogStreams', 'logs:StartLiveTail',
      ],
      Resource: logGroupArns,
    },
    {
      Sid: 'LogGroupLookup',
      Effect: 'Allow',
      Action: ['logs:DescribeLogGroups'],
      Resource: '*',
    },
    {
      Sid: 'EcrRepository',
      Effect: 'Allow',
      // The repository's own actions and what `docker push` (and ECS's pull check) calls on it.
      Action: [
        'ecr:DescribeRepositories', 'ecr:CreateRepository', 'ecr:TagResource', 'ecr:ListTagsForResource', 'ecr:DescribeImages',
        'ecr:DeleteRepository', 'ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart',
        'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer',
      ],
      Resource: `arn:aws:ecr:*:*:repository/${p.repository}`,
    },
    {
      Sid: 'EcrLogin',
      Effect: 'Allow',
      // `docker login`'s token is account-wide: the API has no resource-level permission.
      Action: ['ecr:GetAuthorizationToken'],
      Resource: '*',
    },
    {
      Sid: 'Network',
      Effect: 'Allow',
      // DescribeRegions and DescribeVpcs are also what Cloud Map checks for a private namespace.
      Action: [
        'ec2:Describe*', 'ec2:CreateSecurityGroup',
      ],
      Resource: '*',
    },
    {
      Sid: 'SgTagOnCreate',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: 'arn:aws:ec2:*:*:security-group/*',
      Condition: { StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' } },
    },
    {
      Sid: 'StackSecurityGroups',
      Effect: 'Allow',
      // Rules and deletion only on groups carrying the stack tag, which `up` sets at creation.
      Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:DeleteSecurityGroup'],
      Resource: 'arn:aws:ec2:*:*:security-group/*',
      Condition: { StringLike: { 'aws:ResourceTag/ecs-ha:stack': p.stackTag } },
    },
    {
      Sid: 'LoadBalancing',
      Effect: 'Allow',
      Action: [
        'elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup',
        'elasticloadbalancing:CreateListener', 'elasticloadbalancing:Describe*',
      ],
      Resource: '*',
    },
    {
      Sid: 'StackLoadBalancing',
      Effect: 'Allow',
      // AddTags: creating with tags tags the new resource in the same call.
      Action: [
        // Modify* and Delete* only ever match the stack's own load balancer, listeners and target group (the Resource below).
        'elasticloadbalancing:AddTags', 'elasticloadbalancing:Modify*', 'elasticloadbalancing:Delete*', 'elasticloadbalancing:CreateRule',
      ],
      Resource: [`${elb}:loadbalancer/app/${p.loadBalancer}/*`, `${elb}:listener/app/${p.loadBalancer}/*`, `${elb}:listener-rule/app/${p.loadBalancer}/*`, `${elb}:targetgroup/${p.targetGroup}/*`],
    },
    {
      Sid: 'CloudMap',
      Effect: 'Allow',
      // Namespace and service IDs are chosen by Cloud Map, so there is nothing to scope by name.
      Action: [
        'servicediscovery:Get*', 'servicediscovery:List*', 'servicediscovery:CreatePrivateDnsNamespace',
        'servicediscovery:DeleteNamespace', 'servicediscovery:CreateService', 'servicediscovery:DeleteService',
        'servicediscovery:DeregisterInstance', 'servicediscovery:TagResource',
      ],
      Resource: '*',
    },
    {
      Sid: 'CloudMapRoute53',
      Effect: 'Allow',
      // Cloud Map calls Route 53 with the caller's rights: the private hosted zone (CreatePrivateDnsNamespace),
      // health checks (DeregisterInstance), the records and the zone's removal.
      Action: [
        'route53:Get*', 'route53:List*', 'route53:CreateHostedZone', 'route53:AssociateVPCWithHostedZone',
        'route53:ChangeResourceRecordSets', 'route53:CreateHealthCheck', 'route53:UpdateHealthCheck', 'route53:DeleteHealthCheck',
        'route53:DeleteHostedZone',
      ],
      Resource: '*',
    },
    {
      Sid: 'AutoScaling',
      Effect: 'Allow',
      // `status` and `scale` read the service's scalable target; `up --autoscale` and `down` register and remove it
      // (tagged when registered, so TagResource too) and its target-tracking policy. Scalable target ARNs end in
      // an ID AWS chooses, and the Describe calls have no resource-level permissions: nothing to scope by name.
      // A target-tracking policy reads its CloudWatch alarms (DescribeAlarms has no resource to scope either).
      // Wildcards keep the document under IAM's 6,144 characters: *ScalableTarget is exactly Register- and
      // DeregisterScalableTarget, *ScalingPolicy exactly Put- and DeleteScalingPolicy.
      Action: [
        'application-autoscaling:Describe*', 'application-autoscaling:*ScalableTarget', 'application-autoscaling:*ScalingPolicy',
        'application-autoscaling:TagResource', 'application-autoscaling:ListTagsForResource', 'cloudwatch:DescribeAlarms',
      ],
      Resource: '*',
    },
    {
      Sid: 'AutoScalingAlarms',
      Effect: 'Allow',
      // A target-tracking policy makes and removes its own CloudWatch alarms, named
      // TargetTracking-<resource ID>-AlarmHigh/-AlarmLow-<uuid>; the ECS guide lists these actions for
      // whoever configures service autoscaling.
      Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'],
      Resource: 'arn:aws:cloudwatch:*:*:alarm:TargetTracking-*',
    },
  ];
  return { Version: '2012-10-17', Statement: statements };
}

/** IAM's wildcard matching: `*` any run of characters, `?` one character. */
function wildcardMatches(pattern: string, value: string, flags: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, flags).test(value);
}

/**
 * True when some Allow statement names `iamAction` (exactly or by wildcard, case-insensitively as
 * IAM does) and no Deny does; with `resource`, the statement's Resource must match that ARN too.
 * Conditions are not evaluated: it answers "is this granted at all", not "in this request".
 */
export function allows(policy: PolicyDocument, iamAction: string, resource?: string): boolean {
  const applies = (s: PolicyStatement): boolean =>
    s.Action.some((pattern) => wildcardMatches(pattern, iamAction, 'i')) &&
    (resource === undefined || [s.Resource].flat().some((pattern) => wildcardMatches(pattern, resource, '')));
  return !policy.Statement.some((s) => s.Effect === 'Deny' && applies(s)) && policy.Statement.some((s) => s.Effect === 'Allow' && applies(s));
}

/** The trace's `service` (the SDK client's name without "Client") → the IAM service prefix. */
const IAM_PREFIXES: Record<string, string> = {
  ECS: 'ecs',
  ECR: 'ecr',
  ElasticLoadBalancingV2: 'elasticloadbalancing',
  EC2: 'ec2',
  IAM: 'iam',
  CloudWatchLogs: 'logs',
  ServiceDiscovery: 'servicediscovery',
  STS: 'sts',
  ApplicationAutoScaling: 'application-autoscaling',
  Route53: 'route53',
};

/** `("ElasticLoadBalancingV2", "DescribeTags")` → `"elasticloadbalancing:DescribeTags"`. */
export function iamActionFor(service: string, operation: string): string {
  const prefix = IAM_PREFIXES[service];
  // An unknown client must fail loudly: the policy would silently miss its calls otherwise.
  if (!prefix) throw new Error(`no IAM prefix known for the AWS service "${service}" (operation ${operation})`);
  return `${prefix}:${operation}`;
}
