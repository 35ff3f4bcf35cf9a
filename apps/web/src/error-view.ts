import { byId, el } from "./dom.ts";
import type { ShownError } from "./errors.ts";

/**
 * The error panel (an ARIA alert) plus the inline mark on the field an `invalid_parameter` error
 * names: `aria-invalid`, a message under the input tied by `aria-describedby`, and focus.
 */
export class ErrorView {
  readonly #panel = byId("error", HTMLDivElement);
  readonly #code = byId("error-code", HTMLElement);
  readonly #message = byId("error-message", HTMLParagraphElement);
  readonly #hint = byId("error-hint", HTMLParagraphElement);
  readonly #paramRow = byId("error-param-row", HTMLDivElement);
  readonly #param = byId("error-param", HTMLElement);
  readonly #requestRow = byId("error-request-row", HTMLDivElement);
  readonly #requestId = byId("error-request-id", HTMLElement);
  #marked: { input: HTMLElement; note: HTMLElement; describedBy: string | null } | null = null;

  readonly #form: HTMLFormElement;

  constructor(form: HTMLFormElement) {
    this.#form = form;
  }

  show(error: ShownError): void {
    this.clear();
    this.#code.textContent = error.code;
    this.#message.textContent = error.message;
    this.#hint.textContent = error.hint ?? "";
    this.#hint.hidden = !error.hint;
    this.#paramRow.hidden = !error.param;
    this.#param.textContent = error.param ?? "";
    this.#requestRow.hidden = !error.requestId;
    this.#requestId.textContent = error.requestId ?? "";
    this.#panel.hidden = false;
    if (error.field) this.#markField(error.field, error.message);
  }

  clear(): void {
    this.#panel.hidden = true;
    const marked = this.#marked;
    if (!marked) return;
    marked.input.removeAttribute("aria-invalid");
    if (marked.describedBy) marked.input.setAttribute("aria-describedby", marked.describedBy);
    else marked.input.removeAttribute("aria-describedby");
    marked.note.remove();
    this.#marked = null;
  }

  #markField(name: string, message: string): void {
    const input = this.#form.elements.namedItem(name);
    if (!(input instanceof HTMLElement)) return;
    // The panel quotes the server verbatim; beside the field, its own name is enough.
    const note = el("p", "field-error", message.replace(/^input\./, ""));
    note.id = `${input.id}-error`;
    const describedBy = input.getAttribute("aria-describedby");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [note.id, describedBy].filter(Boolean).join(" "));
    input.closest(".field")?.append(note);
    this.#marked = { input, note, describedBy };
    input.focus();
  }
}
