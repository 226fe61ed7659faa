import type { Step } from '../engine/step.js';
import { autoScalingStep } from './autoScaling.js';
import { clusterStep } from './cluster.js';
import { discoveryServiceStep } from './discoveryService.js';
import { dockerStep } from './docker.js';
import { alternateTargetGroupStep } from './alternateTargetGroup.js';
import { executionRoleStep } from './executionRole.js';
import { infrastructureRoleStep } from './infrastructureRole.js';
import { imageStep } from './image.js';
import { listenerStep } from './listener.js';
import { listenerRuleStep } from './listenerRule.js';
import { loadBalancerStep } from './loadBalancer.js';
import { logGroupStep } from './logGroup.js';
import { namespaceStep } from './namespace.js';
import { networkStep } from './network.js';
import { repositoryStep } from './repository.js';
import { albSecurityGroupStep, taskSecurityGroupStep } from './securityGroups.js';
import { serviceStep } from './service.js';
import { serviceLinkedRoleStep } from './serviceLinkedRole.js';
import { targetGroupStep } from './targetGroup.js';
import { taskDefinitionStep } from './taskDefinition.js';

/** Every step of the tutorial; the engine orders them by their dependencies. */
export const ALL_STEPS: readonly Step[] = [
  dockerStep,
  serviceLinkedRoleStep,
  repositoryStep,
  imageStep,
  clusterStep,
  executionRoleStep,
  logGroupStep,
  networkStep,
  albSecurityGroupStep,
  taskSecurityGroupStep,
  loadBalancerStep,
  targetGroupStep,
  alternateTargetGroupStep,
  listenerStep,
  listenerRuleStep,
  infrastructureRoleStep,
  namespaceStep,
  discoveryServiceStep,
  taskDefinitionStep,
  serviceStep,
  autoScalingStep,
];
