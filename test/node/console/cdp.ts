import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A headless Chromium driven over the DevTools protocol with Node's own WebSocket: the few commands
 * the console's tests need (navigate, evaluate, click, type, press a key, screenshot) in about a
 * hundred lines. playwright-core or puppeteer-core would do the same behind a dependency of several
 * megabytes that also wants to download its own browser; the system's Chromium is all that is used.
 */

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

/** The Chromium to drive: CHROMIUM_PATH, or the first installed of the usual places; undefined if none. */
export function findChromium(): string | undefined {
  const configured = process.env["CHROMIUM_PATH"];
  if (configured) return existsSync(configured) ? configured : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

type Message = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: unknown;
  error?: { message: string };
};

export class Browser {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(message: Message) => void>();

  private constructor(
    private readonly process: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
  ) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as Message;
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result);
        return;
      }
      for (const listener of this.listeners) listener(message);
    });
  }

  static async launch(executable: string): Promise<Browser> {
    const profile = await mkdtemp(join(tmpdir(), "attio-sfdc-chromium-"));
    const args = [
      "--headless=new",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      // Chromium refuses to run as root with its sandbox (CI containers run as root).
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "about:blank",
    ];
    const child = spawn(executable, args, { stdio: ["ignore", "ignore", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${seen.slice(-500)}`)), 30_000);
      child.stderr?.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        const found = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
        if (found?.[1]) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
      child.once("exit", (code) => reject(new Error(`Chromium exited with ${code}: ${seen.slice(-500)}`)));
    });
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener("error", () => reject(new Error("cannot reach Chromium's DevTools")), { once: true });
    });
    return new Browser(child, socket, profile);
  }

  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = ++this.nextId;
    const done = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return done;
  }

  /** The next event `method` of `sessionId`, within `timeoutMs`. */
  event(method: string, sessionId: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (message: Message) => {
        if (message.method !== method || message.sessionId !== sessionId) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(message.params ?? {});
      };
      this.listeners.add(listener);
    });
  }

  async newTab(width = 1280, height = 900, mobile = false): Promise<Tab> {
    const { targetId } = await this.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
    await this.send("Page.enable", {}, sessionId);
    const tab = new Tab(this, sessionId);
    await tab.viewport(width, height, mobile);
    return tab;
  }

  async close(): Promise<void> {
    try {
      await this.send("Browser.close");
    } catch {
      this.process.kill();
    }
    this.socket.close();
    await new Promise((resolve) =>
      this.process.exitCode !== null ? resolve(undefined) : this.process.once("exit", resolve),
    );
    await rm(this.profile, { recursive: true, force: true });
  }
}

export class Tab {
  constructor(
    private readonly browser: Browser,
    private readonly sessionId: string,
  ) {}

  private send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}) {
    return this.browser.send<T>(method, params, this.sessionId);
  }

  viewport(width: number, height: number, mobile: boolean) {
    return this.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
  }

  /** Runs `action` and waits for the page it leads to (a navigation, a form's submission) to load. */
  async navigating(action: () => Promise<unknown>): Promise<void> {
    const loaded = this.browser.event("Page.loadEventFired", this.sessionId);
    await action();
    await loaded;
  }

  /** Runs `source` in every document this tab loads from now on, before the page's own scripts. */
  async beforeEachPage(source: string): Promise<void> {
    await this.send("Page.addScriptToEvaluateOnNewDocument", { source });
  }

  goto(url: string): Promise<void> {
    return this.navigating(() => this.send("Page.navigate", { url }));
  }

  async eval<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send<{
      result: { value?: unknown };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    }>("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    return result.value as T;
  }

  url(): Promise<string> {
    return this.eval<string>("location.href");
  }

  /** The page's visible text (or an element's). */
  text(selector = "body"): Promise<string> {
    return this.eval<string>(`document.querySelector(${JSON.stringify(selector)})?.innerText ?? ""`);
  }

  async fill(selector: string, value: string): Promise<void> {
    await this.eval(
      `(() => { const el = document.querySelector(${JSON.stringify(selector)}); if (!el) throw new Error("no ${selector}"); el.value = ${JSON.stringify(value)}; })()`,
    );
  }

  /** Clicks the button (or link) whose text is `label`, inside `scope` when given, and waits for the next page. */
  clickText(label: string, scope = "body"): Promise<void> {
    return this.navigating(() =>
      this.eval(`(() => {
        const root = document.querySelector(${JSON.stringify(scope)});
        const el = root && [...root.querySelectorAll("button, a")].find((e) => e.textContent.trim() === ${JSON.stringify(label)});
        if (!el) throw new Error("no button or link " + ${JSON.stringify(label)} + " in " + ${JSON.stringify(scope)});
        el.click();
      })()`),
    );
  }

  async press(key: "Tab" | "Enter"): Promise<void> {
    const code = key === "Tab" ? 9 : 13;
    for (const type of ["rawKeyDown", "keyUp"]) {
      await this.send("Input.dispatchKeyEvent", {
        type,
        key,
        code: key,
        windowsVirtualKeyCode: code,
        ...(key === "Enter" && type === "rawKeyDown" ? { text: "\r" } : {}),
      });
    }
  }

  /** A PNG of the whole page, written to `path`. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    await writeFile(path, Buffer.from(data, "base64"));
  }
}
