/**
 * Encodes `{...head, [key]: [items]}` where the items are already JSON. Member records are
 * serialized once, when a peer joins, then spliced into every `welcome` and `peer-joined` that
 * lists them: re-serializing a 1 000-member list for each join was the server's main CPU cost.
 */
export function encodeWithList<H extends object, K extends string>(head: H & { [P in K]?: never }, key: K, itemsJson: readonly string[]): string {
  const text = JSON.stringify(head);
  // `head` is a plain object, so its JSON ends with "}"; the list goes in just before it.
  const sep = text === '{}' ? '' : ',';
  return `${text.slice(0, -1)}${sep}${JSON.stringify(key)}:[${itemsJson.join(',')}]}`;
}
