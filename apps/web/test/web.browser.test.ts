import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createEaselClient } from "@easel/sdk";
import { type RunningStack, startStack } from "@easel/stack";
import { freePort } from "@easel/storage/testing";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { build, type PreviewServer, preview } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const WEB_ROOT = resolve(import.meta.dirname, "..");
const REPO_ROOT = resolve(WEB_ROOT, "../..");
const ARTIFACTS = resolve(REPO_ROOT, "test-artifacts");
const CHROMIUM = "/usr/bin/chromium";
const EMBEDDED_MODEL = resolve(REPO_ROOT, "packages/shapes/artifacts/model/model_index.json");
const TINY_MODEL = resolve(REPO_ROOT, "packages/pipeline/fixtures/tiny-sd");
const PROMPT = "a red circle above a blue square";

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipped: ${CHROMIUM} absent (Debian: apt-get install chromium)`);

describe.skipIf(!hasChromium)("the web example in Chromium against the real stack", () => {
  let dataDir = "";
  let outDir = "";
  let stack: RunningStack | undefined;
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let origin = "";
  const pageErrors: string[] = [];
  const consoleLines: string[] = [];

  /** Waits for `locator`; on timeout, says what the page showed instead. */
  async function waitFor(locator: Locator, timeout: number): Promise<void> {
    try {
      await locator.waitFor({ timeout });
    } catch (error) {
      const shown = await page.evaluate(() =>
        ["#progress-label", "#progress-steps", "#progress-job", "#error", "#connection-status"]
          .map(
            (s) => `${s}: ${document.querySelector(s)?.textContent?.replace(/\s+/g, " ").trim()}`,
          )
          .join("\n"),
      );
      throw new Error(
        `${(error as Error).message}\npage state:\n${shown}\nconsole:\n${consoleLines.join("\n")}`,
      );
    }
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "easel-web-stack-"));
    outDir = await mkdtemp(join(tmpdir(), "easel-web-dist-"));
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    // The page's origin must be known before the gateway starts (CORS), so the port is picked
    // first and the build runs while the stack boots.
    const [started] = await Promise.all([
      startStack({
        dataDir,
        gatewayEnv: { EASEL_CORS_ORIGINS: origin },
        // Until the embedded model is trained, the random-weight fixture stands in (64x64 noise).
        ...(existsSync(EMBEDDED_MODEL)
          ? {}
          : { inferenceEnv: { EASEL_MODELS: `tiny=${TINY_MODEL}` } }),
      }),
      build({ root: WEB_ROOT, logLevel: "warn", build: { outDir, emptyOutDir: true } }),
    ]);
    stack = started;
    server = await preview({
      root: WEB_ROOT,
      logLevel: "warn",
      build: { outDir },
      preview: { host: "127.0.0.1", port, strictPort: true, open: false },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    const query = new URLSearchParams({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    await page.goto(`${origin}/?${query}`);
    await waitFor(page.locator('#connection-status[data-state="connected"]'), 15_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await stack?.stop();
    await Promise.all(
      [dataDir, outDir].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })),
    );
  });

  it("connects with the key from the query string and then drops it from the address bar", async () => {
    expect(page.url()).not.toContain("apiKey");
    const remembered = await page.evaluate(() => localStorage.getItem("easel.connection"));
    expect(JSON.parse(remembered ?? "{}")).toMatchObject({
      baseUrl: stack?.baseUrl,
      apiKey: stack?.apiKey,
    });
    await expect.poll(() => page.getByLabel("Gateway URL").inputValue()).toBe(stack?.baseUrl);
    await expect.poll(() => page.locator("#model option").count()).toBeGreaterThan(1);
  });

  it("generates a typed prompt and shows the decoded image with its seed and job id", async () => {
    await page.getByLabel("Prompt", { exact: true }).fill(PROMPT);
    await page.getByLabel("Width").fill("64");
    await page.getByLabel("Height").fill("64");
    await page.getByLabel("Steps").fill("8");
    await page.getByLabel("Seed").fill("1234");
    await page.getByRole("button", { name: "Generate" }).click();

    const card = page.locator("#gallery .gallery-card").first();
    await waitFor(card, 30_000);
    const image = card.locator("img");
    const decoded = await image.evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return { width: img.naturalWidth, height: img.naturalHeight, src: img.src.slice(0, 22) };
    });
    expect(decoded).toEqual({ width: 64, height: 64, src: "data:image/png;base64," });
    await expect.poll(() => card.locator(".gallery-prompt").textContent()).toBe(PROMPT);
    expect(await card.locator('[data-field="seed"]').textContent()).toBe("1234");
    const jobId = await card.locator('[data-field="job"]').textContent();
    expect(jobId).toMatch(/^job_[A-Za-z0-9]+$/);
    expect(await page.locator("#progress-job").textContent()).toBe(jobId);
    // The progress card ends on the result itself (a fast job may stream no preview at all).
    expect(await page.locator("#preview").getAttribute("src")).toBe(
      await image.getAttribute("src"),
    );
    expect(await page.locator("#progress-label").textContent()).toBe("Done");
    expect(
      await page.locator("#progress-bar").evaluate((bar: HTMLProgressElement) => bar.value),
    ).toBe(1);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: resolve(ARTIFACTS, "web.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("shows the gateway's invalid_parameter error and marks the steps field when steps is 500", async () => {
    await page.getByLabel("Steps").fill("500");
    await page.getByRole("button", { name: "Generate" }).click();

    const alert = page.getByRole("alert");
    await waitFor(alert, 10_000);
    expect(await alert.locator("#error-code").textContent()).toBe("invalid_parameter");
    expect(await alert.locator("#error-message").textContent()).toMatch(/steps must be <= 150/);
    expect(await alert.locator("#error-param").textContent()).toBe("input.steps");
    const steps = page.getByLabel("Steps");
    expect(await steps.getAttribute("aria-invalid")).toBe("true");
    expect(await steps.evaluate((input) => input === document.activeElement)).toBe(true);
    // The request was refused before a job existed: the gallery keeps only the earlier image.
    expect(await page.locator("#gallery .gallery-card").count()).toBe(1);

    await page.screenshot({ path: resolve(ARTIFACTS, "web-error.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("names the failure when the key is wrong or the gateway cannot be reached", async () => {
    const other = await browser!.newPage(); // a fresh context: nothing remembered
    try {
      const wrongKey = new URLSearchParams({ baseUrl: stack!.baseUrl, apiKey: "sk-wrong" });
      await other.goto(`${origin}/?${wrongKey}`);
      const alert = other.getByRole("alert");
      await alert.waitFor({ timeout: 10_000 });
      expect(await alert.locator("#error-code").textContent()).toBe("unauthorized");
      expect(await other.locator("#connection-status").textContent()).toBe("Cannot connect");

      const closed = `http://127.0.0.1:${await freePort()}`;
      const unreachable = new URLSearchParams({ baseUrl: closed, apiKey: stack!.apiKey });
      await other.goto(`${origin}/?${unreachable}`);
      await alert.waitFor({ timeout: 10_000 });
      expect(await alert.locator("#error-code").textContent()).toBe("backend_unavailable");
      expect(await alert.locator("#error-hint").textContent()).toBe(
        `No answer from ${closed}. Is the gateway running, and does its EASEL_CORS_ORIGINS include ${origin}?`,
      );
    } finally {
      await other.close();
    }
  });

  it("cancels a running job with the Cancel button and leaves the gallery as it was", async () => {
    await page.getByLabel("Steps").fill("150");
    await page.getByRole("button", { name: "Generate" }).click();
    expect(await page.getByRole("alert").isHidden()).toBe(true); // the fix cleared the last error
    await waitFor(page.locator("#progress-steps", { hasText: /^Step \d+ of/ }), 20_000);
    await page.getByRole("button", { name: "Cancel" }).click();

    await waitFor(page.locator("#progress-label", { hasText: "Canceled" }), 10_000);
    const jobId = (await page.locator("#progress-job").textContent()) ?? "";
    expect(jobId).toMatch(/^job_/);
    const easel = createEaselClient({ baseUrl: stack!.baseUrl, apiKey: stack!.apiKey });
    await expect.poll(async () => (await easel.jobs.get(jobId)).status).toBe("canceled");
    expect(await page.locator("#gallery .gallery-card").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Generate" }).isEnabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
