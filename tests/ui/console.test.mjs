// The console in a real browser: Debian's headless Chromium driven by playwright-core.
//
// Starts three HTTP targets (in this process) and the real burr binary in front of them with an
// HTTP health check, opens /ui, and checks that
// - the page shows the three targets healthy and the traffic it was sent;
// - after one target is stopped, the page shows its first failed check (with the reason)
//   within one interval plus the page's 1 s refresh, plus a margin (below); and shows it
//   unhealthy within the health check's
//   interval x unhealthy threshold, plus the page's 1 s refresh, plus a margin (below);
// - no request left the origin, and the page weighs at most 200 KB;
// - a target left out of the file at a reload shows draining, and the reload is listed;
// - when burr goes away the page says "Connection lost".
// It saves a screenshot at 1366x768 to target/ui/console.png for review.
//
// BURR_BIN names the binary (scripts/test sets it); CHROMIUM the browser (/usr/bin/chromium).
// Every wait is bounded; the whole run takes about 20 s, most of it the health checks' pace.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BURR = process.env.BURR_BIN || path.join(repo, "target/debug/burr");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOT = path.join(repo, "target/ui/console.png");

// The shortest check the configuration allows: every 5 s, unhealthy after 2 failures.
const INTERVAL_S = 5;
const UNHEALTHY_THRESHOLD = 2;
const PAGE_REFRESH_S = 1;
// Margin: a refused connect fails the check at once, but on a loaded 2-core CI machine the
// check task, the page's fetch and its redraw may each start late; 1.5 s covers that without
// hiding a missed check (which would cost a whole 5 s interval).
const MARGIN_S = 1.5;
const LIMIT_S = INTERVAL_S * UNHEALTHY_THRESHOLD + PAGE_REFRESH_S + MARGIN_S;
const FIRST_LIMIT_S = INTERVAL_S + PAGE_REFRESH_S + MARGIN_S;
const MAX_PAGE_BYTES = 200 * 1024;

const failures = [];
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** An HTTP target answering with its name; stop() closes it and every open connection. */
async function target(name) {
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`${name}\n`);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    name,
    address: `127.0.0.1:${server.address().port}`,
    stop: () =>
      new Promise((r) => {
        server.close(r);
        for (const s of sockets) s.destroy();
      }),
  };
}

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (e) {
      // Not yet (a refused connection); but a process that is gone will not come.
      if (burrExit) throw new Error(`${what}: ${burrExit}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.setTimeout(3000, () => req.destroy(new Error("request timed out")));
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), "burr-ui-"));
const targets = [await target("t1"), await target("t2"), await target("t3")];
const [listenPort, apiPort] = [await freePort(), await freePort()];
const config = path.join(dir, "burr.toml");
/** The configuration, listing `registered` in the pool (a reload drains the others). */
function writeConfig(registered) {
  writeFileSync(
    config,
    `[[balancer]]
name = "shop"
address = "127.0.0.1"

[[balancer.listener]]
port = ${listenPort}
protocol = "http"
pool = "web"

[[pool]]
name = "web"
algorithm = "round_robin"
targets = [${registered.map((t) => `{ address = "${t.address}" }`).join(", ")}]

[pool.stickiness]
type = "lb_cookie"
duration_secs = 600

[pool.health_check]
protocol = "http"
path = "/"
interval_secs = ${INTERVAL_S}
timeout_secs = 2
healthy_threshold = 2
unhealthy_threshold = ${UNHEALTHY_THRESHOLD}
`,
  );
}
writeConfig(targets);

const api = `http://127.0.0.1:${apiPort}`;
const burr = spawn(
  BURR,
  ["serve", "--config", config, "--data-dir", path.join(dir, "data"), "--api", `127.0.0.1:${apiPort}`, "--workers", "1"],
  { stdio: ["ignore", "ignore", "pipe"] },
);
let burrLog = "";
let burrExit = null;
burr.stderr.on("data", (d) => (burrLog += d));
burr.on("error", (e) => (burrExit = `could not start ${BURR}: ${e.message}`));
burr.on("exit", (code, signal) => (burrExit = `burr exited (${signal || code})`));
let browser;

try {
  // Start-up writes the store with fsync: on a machine busy writing to disk it can take a while.
  await until("burr ready", 60000, async () => {
    if (burrExit) throw new Error(burrExit);
    return (await get(`${api}/healthz`)).status === 200;
  });
  // Traffic: new clients spread, one client with its cookie stays.
  const site = `http://127.0.0.1:${listenPort}/`;
  let cookie;
  for (let i = 0; i < 12; i++) {
    const r = await get(site, cookie ? { cookie } : {});
    if (i === 0) cookie = (r.headers["set-cookie"] || [])[0]?.split(";")[0];
    await get(site);
  }

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const foreign = [];
  const loaded = new Map(); // url -> bytes, first load only
  page.on("request", (r) => {
    if (!r.url().startsWith(`${api}/`)) foreign.push(r.url());
  });
  page.on("response", async (r) => {
    if (loaded.has(r.url())) return;
    try {
      loaded.set(r.url(), (await r.body()).length);
    } catch {
      // a response without a body (e.g. a redirect)
    }
  });
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  await page.goto(`${api}/ui`, { waitUntil: "load" });
  const row = (t) => page.locator(`tr[data-target="${t.address}"]`);
  const healthyStart = Date.now();
  await page.waitForFunction(
    (n) => document.querySelectorAll('tr[data-state="healthy"]').length === n,
    targets.length,
    { timeout: (INTERVAL_S * 2 + 5) * 1000 },
  );
  console.log(`ok - three targets shown healthy (${((Date.now() - healthyStart) / 1000).toFixed(1)} s after load)`);
  const card = page.locator(`[data-listener="shop:${listenPort}"]`);
  check((await card.count()) === 1, "the listener has its card");
  const cardText = await card.locator(".stats").textContent();
  check(/Requests\s*24(?!\d)/.test(cardText), `the listener's card counts the 24 requests sent (${cardText})`);
  const hits = await page.locator('[data-pool="web"] .decision').filter({ hasText: "hit" }).locator(".num").textContent();
  check(Number(hits.replaceAll(",", "")) >= 11, `sticky hits counted on the page (${hits})`);

  // Stop one target: the page must show it unhealthy within the limit.
  const victim = targets[1];
  await victim.stop();
  const stopped = Date.now();
  // The first failed check shows at once, with its reason, while the target still counts as
  // healthy (the verdict waits for the threshold): within one interval and the page's refresh.
  await row(victim).filter({ hasText: "connection failed" }).waitFor({ timeout: (FIRST_LIMIT_S + 5) * 1000 });
  const first = (Date.now() - stopped) / 1000;
  check(first <= FIRST_LIMIT_S, `stopped target's failed check shown after ${first.toFixed(2)} s (limit ${FIRST_LIMIT_S} s = ${INTERVAL_S} s + ${PAGE_REFRESH_S} s + ${MARGIN_S} s margin)`);
  await row(victim).and(page.locator('[data-state="unhealthy"]')).waitFor({ timeout: (LIMIT_S + 5) * 1000 });
  const seconds = (Date.now() - stopped) / 1000;
  check(seconds <= LIMIT_S, `stopped target shown unhealthy after ${seconds.toFixed(2)} s (limit ${LIMIT_S} s = ${INTERVAL_S} s x ${UNHEALTHY_THRESHOLD} + ${PAGE_REFRESH_S} s + ${MARGIN_S} s margin)`);
  check((await row(victim).textContent()).includes("connection failed"), "its row names the reason");
  check((await row(targets[0]).getAttribute("data-state")) === "healthy", "the others stay healthy");

  // A reload that leaves the third target out: it drains (300 s by default), and the reload
  // is listed among the recent changes.
  writeConfig([targets[0], targets[1]]);
  burr.kill("SIGHUP");
  await row(targets[2]).and(page.locator('[data-state="draining"]')).waitFor({ timeout: 5000 });
  check(/^[45]m \d\ds$/.test((await row(targets[2]).locator("td").nth(4).textContent()).trim()), "the draining target counts down to its deadline");
  await page.locator("#changes tr").filter({ hasText: "configuration file reloaded" }).first().waitFor({ timeout: 3000 });
  check(true, "the reload is listed among the recent changes");

  // A little more traffic so rates show, then the screenshot.
  for (let i = 0; i < 20; i++) await get(site, cookie ? { cookie } : {});
  // The sampler reads the counters once a second and the page refreshes once a second: two
  // seconds and a half see the traffic in the rates.
  await page.waitForTimeout(2500);
  mkdirSync(path.dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });
  console.log(`     screenshot: ${SHOT}`);

  const weight = [...loaded.entries()]
    .filter(([url]) => !url.includes("/api/v1/status"))
    .reduce((sum, [, bytes]) => sum + bytes, 0);
  check(weight > 0 && weight <= MAX_PAGE_BYTES, `page weight ${weight} bytes (HTML, script, style; limit ${MAX_PAGE_BYTES})`);
  check(foreign.length === 0, `no request left the origin (${foreign.length ? foreign.join(", ") : "none did"})`);
  check(consoleErrors.length === 0, `no script or CSP error (${consoleErrors.join(" | ") || "none"})`);

  // burr gone: the page says so.
  burr.kill("SIGTERM");
  await page.locator("#lost").waitFor({ state: "visible", timeout: 5000 });
  check((await page.locator("#lost").textContent()).includes("Connection lost"), "\"Connection lost\" shown when burr stops");
  await page.screenshot({ path: SHOT.replace(".png", "-lost.png") });
} catch (e) {
  failures.push(String(e.stack || e));
  console.log(`FAIL ${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  burr.kill("SIGKILL");
  for (const t of targets) await t.stop();
  rmSync(dir, { recursive: true, force: true });
}

if (failures.length) {
  console.log(`\nconsole browser test: ${failures.length} failure(s); burr's log:\n${burrLog.slice(-4000)}`);
  process.exit(1);
}
console.log("console browser test: all passed");
