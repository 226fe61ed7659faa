/**
 * In --local mode every `ecs-ha <command> …` a message suggests gets --local too: without it, the
 * suggested command would go to an AWS account instead of the local stack.
 */
export function suggestLocal(text: string): string {
  return text.replace(/`ecs-ha ([a-z]+)([^`]*)`/g, (whole, command: string, rest: string) => (rest.includes('--local') ? whole : `\`ecs-ha ${command} --local${rest}\``));
}
