import { STACK_TAG_KEY } from '../config.js';

/** The stack tag in the shapes the different AWS APIs take. */
export function stackTag(stack: string) {
  return { Key: STACK_TAG_KEY, Value: stack };
}

export function ecsStackTag(stack: string) {
  return { key: STACK_TAG_KEY, value: stack };
}

type AnyTag = { Key?: string; Value?: string } | { key?: string; value?: string };

/** True when a tag list (any API's casing) or tag map carries this stack's tag. */
export function hasStackTag(tags: AnyTag[] | Record<string, string> | undefined, stack: string): boolean {
  if (!tags) return false;
  if (!Array.isArray(tags)) return tags[STACK_TAG_KEY] === stack;
  return tags.some((tag) => {
    const key = 'Key' in tag ? tag.Key : (tag as { key?: string }).key;
    const value = 'Value' in tag ? tag.Value : (tag as { value?: string }).value;
    return key === STACK_TAG_KEY && value === stack;
  });
}
