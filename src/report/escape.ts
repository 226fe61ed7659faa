/**
 * Text from the network (error messages, host names, versions) and from AWS (task IDs) goes into
 * the page: every piece of it is escaped, in element text and in attribute values alike.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] as string);
}
