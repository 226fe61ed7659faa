/**
 * setupFiles of the unit tests, which share one module cache per worker (isolate: false, for
 * speed): after each file, every SDK client class a file mocked with aws-sdk-client-mock
 * (`mockClient(ECSClient)` stubs the class's prototype) is given its real `send` back, so that the
 * next file in the same worker starts from real clients, as it would in a process of its own.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll } from 'vitest';

const CLIENTS = [ApplicationAutoScalingClient, CloudWatchLogsClient, EC2Client, ECRClient, ECSClient, ElasticLoadBalancingV2Client, IAMClient, Route53Client, ServiceDiscoveryClient, STSClient];

afterAll(() => {
  for (const Client of CLIENTS) {
    const send = Client.prototype.send as { restore?: () => void };
    if (typeof send.restore === 'function') send.restore();
  }
});
