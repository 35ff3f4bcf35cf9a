/**
 * The element with `id`, checked to be of the expected class, so a renamed id in index.html fails
 * loudly at start-up instead of as a null dereference later.
 *
 * @example
 * const prompt = byId("prompt", HTMLTextAreaElement);
 */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`index.html: expected #${id} to be a ${type.name}, got ${String(element)}`);
  }
  return element;
}

/** Creates an element with a class and text in one call. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}
