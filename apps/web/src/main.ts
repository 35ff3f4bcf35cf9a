import { createEaselClient, type EaselClient, type Job, type Model, SCHEDULERS } from "@easel/sdk";
import "./style.css";
import {
  CONNECTION_STORAGE_KEY,
  type Connection,
  type EnvDefaults,
  rememberedConnection,
  resolveConnection,
  searchWithoutConnection,
  validateBaseUrl,
} from "./connection.ts";
import { byId } from "./dom.ts";
import { ErrorView } from "./error-view.ts";
import { describeError, type ErrorContext, isAbort } from "./errors.ts";
import { type GalleryItem, galleryItems, renderGalleryCard } from "./gallery.ts";
import { type FieldName, type FormValues, NUMBER_FIELDS, toGenerationInput } from "./params.ts";
import { ProgressView } from "./progress.ts";

const ui = {
  status: byId("connection-status", HTMLParagraphElement),
  connection: byId("connection", HTMLDetailsElement),
  connectionSummary: byId("connection-summary", HTMLSpanElement),
  connectionForm: byId("connection-form", HTMLFormElement),
  baseUrl: byId("base-url", HTMLInputElement),
  apiKey: byId("api-key", HTMLInputElement),
  apiKeyToggle: byId("api-key-toggle", HTMLButtonElement),
  connect: byId("connect", HTMLButtonElement),
  form: byId("generate-form", HTMLFormElement),
  model: byId("model", HTMLSelectElement),
  scheduler: byId("scheduler", HTMLSelectElement),
  width: byId("width", HTMLInputElement),
  height: byId("height", HTMLInputElement),
  steps: byId("steps", HTMLInputElement),
  seed: byId("seed", HTMLInputElement),
  seedRandom: byId("seed-random", HTMLButtonElement),
  seedClear: byId("seed-clear", HTMLButtonElement),
  generate: byId("generate", HTMLButtonElement),
  cancel: byId("cancel", HTMLButtonElement),
  gallery: byId("gallery", HTMLOListElement),
  galleryEmpty: byId("gallery-empty", HTMLDivElement),
  galleryCount: byId("gallery-count", HTMLParagraphElement),
};
const ENV_DEFAULTS: EnvDefaults = {
  baseUrl: import.meta.env.VITE_EASEL_BASE_URL,
  apiKey: import.meta.env.VITE_EASEL_API_KEY,
};
const errors = new ErrorView(ui.form);
const progress = new ProgressView();

let client: EaselClient | null = null;
let models: Model[] = [];
let running: AbortController | null = null;

for (const name of SCHEDULERS) ui.scheduler.append(new Option(name, name));

// --- connection -------------------------------------------------------------------------------

function setStatus(state: "idle" | "connecting" | "connected" | "error", text: string): void {
  ui.status.dataset["state"] = state;
  ui.status.textContent = text;
}

function errorContext(): ErrorContext {
  return { baseUrl: ui.baseUrl.value.trim(), origin: location.origin };
}

function readConnection(): Connection {
  return { baseUrl: ui.baseUrl.value.trim(), apiKey: ui.apiKey.value.trim() };
}

/** Builds the client for the fields' values and checks them with `models.list()`. */
async function connect(): Promise<boolean> {
  const connection = readConnection();
  const problem =
    validateBaseUrl(connection.baseUrl) ?? (connection.apiKey ? null : "API key is required");
  if (problem) {
    client = null;
    setStatus("error", "Not connected");
    ui.connection.open = true;
    errors.show({ code: "client_error", message: problem });
    (validateBaseUrl(connection.baseUrl) ? ui.baseUrl : ui.apiKey).focus();
    return false;
  }
  localStorage.setItem(CONNECTION_STORAGE_KEY, rememberedConnection(connection, ENV_DEFAULTS));
  setStatus("connecting", "Connecting…");
  ui.connect.disabled = true;
  try {
    const candidate = createEaselClient(connection);
    models = await candidate.models.list();
    client = candidate;
    errors.clear();
    const host = new URL(connection.baseUrl).host;
    setStatus("connected", `Connected · ${host}`);
    ui.connectionSummary.textContent = `${host} · ${models.length} model${models.length === 1 ? "" : "s"}`;
    ui.connection.open = false;
    fillModels();
    return true;
  } catch (error) {
    client = null;
    setStatus("error", "Cannot connect");
    ui.connectionSummary.textContent = "";
    ui.connection.open = true;
    errors.show(describeError(error, errorContext()));
    return false;
  } finally {
    ui.connect.disabled = false;
  }
}

function fillModels(): void {
  const chosen = ui.model.value;
  ui.model.replaceChildren(new Option("Server default", ""));
  for (const model of models) ui.model.append(new Option(model.id, model.id));
  ui.model.value = models.some((m) => m.id === chosen) ? chosen : "";
  showModelDefaults();
}

/** Empty size and step fields take the model's defaults; their placeholders say which. */
function showModelDefaults(): void {
  const model = models.find((m) => m.id === ui.model.value) ?? models[0];
  ui.width.placeholder = model?.default_width ? String(model.default_width) : "default";
  ui.height.placeholder = model?.default_height ? String(model.default_height) : "default";
  ui.steps.placeholder = model?.default_steps ? String(model.default_steps) : "default";
}

ui.connectionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void connect();
});
// Generate uses what the fields show: an edit drops the client, and the next Generate reconnects.
ui.connectionForm.addEventListener("input", () => {
  if (!client) return;
  client = null;
  setStatus("idle", "Connection edited, not saved");
});
ui.model.addEventListener("change", showModelDefaults);
ui.apiKeyToggle.addEventListener("click", () => {
  const show = ui.apiKey.type === "password";
  ui.apiKey.type = show ? "text" : "password";
  ui.apiKeyToggle.textContent = show ? "Hide" : "Show";
  ui.apiKeyToggle.setAttribute("aria-pressed", String(show));
});

// --- generation -------------------------------------------------------------------------------

function formValues(): FormValues {
  const data = new FormData(ui.form);
  const values: FormValues = {};
  const names: FieldName[] = ["prompt", "negative_prompt", "scheduler", ...NUMBER_FIELDS];
  for (const name of names) {
    const value = data.get(name);
    if (typeof value === "string") values[name] = value;
  }
  return values;
}

function setRunning(controller: AbortController | null): void {
  running = controller;
  ui.generate.disabled = controller !== null;
  ui.cancel.disabled = controller === null;
  ui.form.setAttribute("aria-busy", String(controller !== null));
  ui.generate.textContent = controller ? "Generating…" : "Generate";
}

async function generate(): Promise<void> {
  if (running) return;
  errors.clear();
  if (!client && !(await connect())) return;
  const easel = client;
  if (!easel) return;
  const controller = new AbortController();
  setRunning(controller);
  progress.start();
  let accepted = false;
  try {
    const job = await easel.generate(toGenerationInput(formValues()), {
      ...(ui.model.value ? { model: ui.model.value } : {}),
      base64: true,
      signal: controller.signal,
      onJob: (created) => {
        accepted = true;
        progress.accepted(created.id);
      },
      onProgress: ({ step, total, preview }) => progress.step(step, total, preview),
    });
    const items = addToGallery(job);
    progress.finish("succeeded", items[0]?.src);
  } catch (error) {
    if (isAbort(error)) {
      if (accepted) progress.finish("canceled");
      else progress.hide();
    } else {
      if (accepted) progress.finish("failed");
      else progress.hide();
      errors.show(describeError(error, errorContext()));
    }
  } finally {
    setRunning(null);
  }
}

function addToGallery(job: Job): GalleryItem[] {
  const items = galleryItems(job);
  // Prepended last to first, so the job's images keep their order at the top of the gallery.
  for (const item of [...items].reverse()) ui.gallery.prepend(renderGalleryCard(item));
  const count = ui.gallery.children.length;
  ui.galleryEmpty.hidden = count > 0;
  ui.galleryCount.textContent = `${count} image${count === 1 ? "" : "s"}`;
  return items;
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void generate();
});
ui.cancel.addEventListener("click", () => running?.abort());
ui.form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && running) {
    event.preventDefault();
    running.abort();
  }
});
// Typing into a field the last error named is the fix being made: the mark has done its job.
ui.form.addEventListener("input", (event) => {
  if ((event.target as HTMLElement).getAttribute("aria-invalid") === "true") errors.clear();
});
ui.seedRandom.addEventListener("click", () => {
  ui.seed.value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
});
ui.seedClear.addEventListener("click", () => {
  ui.seed.value = "";
  ui.seed.focus();
});

// --- start ------------------------------------------------------------------------------------

const initial = resolveConnection({
  search: location.search,
  stored: localStorage.getItem(CONNECTION_STORAGE_KEY),
  env: ENV_DEFAULTS,
});
ui.baseUrl.value = initial.baseUrl;
ui.apiKey.value = initial.apiKey;
if (new URLSearchParams(location.search).has("apiKey")) {
  localStorage.setItem(CONNECTION_STORAGE_KEY, rememberedConnection(initial, ENV_DEFAULTS));
  history.replaceState(null, "", `${location.pathname}${searchWithoutConnection(location.search)}`);
}
if (initial.baseUrl && initial.apiKey) void connect();
else {
  ui.connection.open = true;
  (initial.baseUrl ? ui.apiKey : ui.baseUrl).focus();
}
