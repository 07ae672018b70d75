// burr console: fetches /api/v1/status once a second and redraws the page from it. Read-only;
// every name from the document is inserted as text (never as HTML). No request leaves the
// origin.
"use strict";

const STATUS_URL = "/api/v1/status";
const PERIOD_MS = 1000;
const STATE_TEXT = {
  healthy: "Healthy",
  unhealthy: "Unhealthy",
  draining: "Draining",
  unknown: "Unknown",
};
const REASON_TEXT = {
  timeout: "health check timed out",
  connection_failed: "connection failed",
  unexpected_reply: "unexpected reply",
  response_code_mismatch: "wrong response code",
};
// Decisions worth a second look get the warning colour (and are listed by name anyway).
const WARN_DECISIONS = new Set(["expired", "tampered", "unknown_target", "target_down", "strict_503"]);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const fmt = {
  int: (n) => (n ?? 0).toLocaleString("en-US"),
  rate: (r) => (r >= 100 ? Math.round(r).toLocaleString("en-US") : (r ?? 0).toFixed(1)),
  secs(s) {
    if (s === null || s === undefined) return "";
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${String(r).padStart(2, "0")}s`;
    return `${r}s`;
  },
  ms: (s) => (s < 0.001 ? `${(s * 1e6).toFixed(0)} µs` : s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`),
  time(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString("en-GB", { hour12: false });
  },
};

function stat(label, value) {
  return el("div", null, el("dt", { text: label }), el("dd", { text: value }));
}

function renderTotals(s) {
  const t = s.totals;
  document.getElementById("version").textContent =
    `v${s.burr_version} · generation ${s.config_generation} · up ${fmt.secs(s.uptime_seconds)}`;
  const unhealthy = t.targets_unhealthy ? ` · ${t.targets_unhealthy} unhealthy` : "";
  const draining = t.targets_draining ? ` · ${t.targets_draining} draining` : "";
  document.getElementById("totals").replaceChildren(
    stat("Balancers", `${t.balancers}`),
    stat("Listeners", `${t.listeners}`),
    stat("Targets", `${t.targets_healthy}/${t.targets} healthy${unhealthy}${draining}`),
    stat("Open connections", fmt.int(t.open_connections)),
    stat("Requests/s", fmt.rate(t.requests_per_second)),
    stat("Requests", fmt.int(t.requests_total)),
  );
  if (s.rate_window_seconds) {
    document.getElementById("window").textContent = s.rate_window_seconds.toFixed(0);
  }
}

function responseBar(responses) {
  const total = Object.values(responses).reduce((a, b) => a + b, 0);
  const bar = el("div", { class: "classes", role: "img" });
  const legend = el("div", { class: "legend" });
  const parts = [];
  for (const [cls, n] of Object.entries(responses)) {
    if (!n) continue;
    const seg = el("span", { class: `c${cls}` });
    seg.style.width = `${(100 * n) / total}%`;
    bar.append(seg);
    legend.append(el("span", null, el("i", { class: `c${cls}` }), `${cls} ${fmt.int(n)}`));
    parts.push(`${cls}: ${n}`);
  }
  bar.setAttribute("aria-label", parts.length ? `Responses ${parts.join(", ")}` : "No responses yet");
  if (!parts.length) legend.append(el("span", { text: "no responses yet" }));
  return [bar, legend];
}

function renderListeners(s) {
  const cards = [];
  for (const b of s.balancers) {
    for (const l of b.listeners) {
      const stats = el("dl", { class: "stats" },
        stat("Req/s", fmt.rate(l.requests_per_second)),
        stat("Open conns", fmt.int(l.open_connections)),
        l.udp ? stat("UDP flows", fmt.int(l.udp.open_flows)) : stat("Requests", fmt.int(l.requests_total)),
      );
      if (l.latency) {
        stats.append(stat("p50", fmt.ms(l.latency.p50_seconds)), stat("p90", fmt.ms(l.latency.p90_seconds)),
          stat("p99", fmt.ms(l.latency.p99_seconds)));
      }
      cards.push(el("article", { class: "card", "data-listener": `${b.name}:${l.port}` },
        el("header", null, el("h3", { text: `${b.name} : ${l.port}` }), el("span", { class: "badge", text: l.protocol })),
        el("div", { class: "pools-line", text: `${l.address} → ${l.default_pools.length ? l.default_pools.join(", ") : "rules / fixed action"}` }),
        stats,
        ...responseBar(l.responses),
      ));
    }
  }
  const box = document.getElementById("listeners");
  box.replaceChildren(...(cards.length ? cards : [el("p", { class: "muted", text: "No listeners configured." })]));
}

function stateCell(t) {
  return el("span", { class: `state ${t.state}` }, el("span", { class: "shape", "aria-hidden": "true" }),
    STATE_TEXT[t.state] || t.state);
}

function reasonText(t) {
  const parts = [];
  if (t.failure_reason) {
    parts.push((REASON_TEXT[t.failure_reason] || t.failure_reason) + (t.failure_code ? ` (${t.failure_code})` : ""));
  }
  if (!t.available && t.state !== "unhealthy" && t.state !== "draining") parts.push("refusing connections");
  return parts.join("; ");
}

function sessionsBar(n, max) {
  if (n === null || n === undefined) return el("span", { class: "muted", text: "—" });
  const fill = el("div", { class: "fill" });
  fill.style.width = `${max ? (100 * n) / max : 0}%`;
  return el("div", { class: "bar", title: `${n} live sticky sessions` },
    el("div", { class: "track" }, fill), el("span", { text: fmt.int(n) }));
}

function renderPool(p) {
  const facts = el("div", { class: "facts" },
    el("span", null, "algorithm ", el("b", { text: p.algorithm.replaceAll("_", " ") })),
    el("span", null, "stickiness ", el("b", {
      text: p.stickiness.type === "none" ? "none"
        : p.stickiness.type.replaceAll("_", " ") + (p.stickiness.duration_seconds ? ` · ${fmt.secs(p.stickiness.duration_seconds)}` : ""),
    })),
  );
  if (p.health_check) {
    facts.append(el("span", null, "health check ", el("b", {
      text: `${p.health_check.protocol} every ${p.health_check.interval_seconds}s, down after ${p.health_check.unhealthy_threshold}`,
    })));
  }
  if (p.fail_open) {
    facts.append(p.fail_open.failing_open
      ? el("span", { class: "failing", text: "⚠ failing open: routing to every target" })
      : el("span", null, "fail-open ", el("b", { text: "armed" })));
  }
  const maxSessions = Math.max(0, ...p.targets.map((t) => t.sticky_sessions || 0));
  const hasLatency = p.targets.some((t) => t.latency);
  const head = ["State", "Target", "Weight", "Reason", "Drain ends in", "Conns", "In flight", "Req/s", "Sticky sessions"];
  if (hasLatency) head.push("p50 / p99");
  const rows = p.targets.map((t) => {
    const cells = [
      el("td", null, stateCell(t)),
      el("td", { class: "addr", text: t.address }),
      el("td", { class: "num", text: t.weight }),
      el("td", { class: "reason", text: reasonText(t) }),
      el("td", { class: "num", text: fmt.secs(t.drain_seconds_left), title: t.drain_deadline || "" }),
      el("td", { class: "num", text: fmt.int(t.active_connections) }),
      el("td", { class: "num", text: fmt.int(t.in_flight_requests) }),
      el("td", { class: "num", text: fmt.rate(t.requests_per_second) }),
      el("td", null, sessionsBar(t.sticky_sessions, maxSessions)),
    ];
    if (hasLatency) {
      cells.push(el("td", { class: "num", text: t.latency ? `${fmt.ms(t.latency.p50_seconds)} / ${fmt.ms(t.latency.p99_seconds)}` : "" }));
    }
    return el("tr", { class: t.state, "data-target": t.address, "data-state": t.state }, ...cells);
  });
  const table = el("table", null,
    el("thead", null, el("tr", null, ...head.map((h, i) =>
      el("th", { class: i >= 4 && i <= 7 ? "num" : null, text: h })))),
    el("tbody", null, ...(rows.length ? rows : [el("tr", null, el("td", { colspan: head.length, class: "empty", text: "No targets." }))])),
  );
  const body = el("div", { class: "pool-body" }, el("div", { class: "panel-inner" }, table));
  if (p.sticky_decisions) {
    const entries = Object.entries(p.sticky_decisions);
    const max = Math.max(1, ...entries.map(([, n]) => n));
    const box = el("div", { class: "decisions" }, el("h4", { text: "Sticky decisions" }));
    for (const [reason, n] of entries) {
      const fill = el("div", { class: "fill" });
      fill.style.width = `${(100 * n) / max}%`;
      box.append(el("div", { class: `decision${WARN_DECISIONS.has(reason) ? " warn" : ""}` },
        el("span", { text: reason.replaceAll("_", " ") }), el("div", { class: "track" }, fill),
        el("span", { class: "num", text: fmt.int(n) })));
    }
    body.append(box);
  } else {
    body.classList.add("single");
  }
  return el("article", { class: "panel pool", "data-pool": p.name },
    el("header", null, el("h3", { text: p.name }), facts), body);
}

function renderPools(s) {
  const box = document.getElementById("pools");
  box.replaceChildren(...(s.pools.length ? s.pools.map(renderPool) : [el("p", { class: "muted", text: "No pools configured." })]));
}

function renderChanges(s) {
  const rows = s.recent_changes.map((c) => el("tr", null,
    el("td", { class: "when", text: fmt.time(c.at), title: c.at }),
    el("td", { text: c.source }),
    el("td", { class: "what", text: c.what }),
    el("td", { class: "num", text: c.generation }),
    el("td", null, el("span", { class: `result ${c.result}`, text: c.result }),
      c.reason ? el("span", { class: "why", text: c.reason }) : null),
  ));
  document.getElementById("changes").replaceChildren(...(rows.length ? rows
    : [el("tr", null, el("td", { colspan: 5, class: "empty", text: "No changes yet." }))]));
}

function setLink(ok, detail) {
  const link = document.getElementById("link");
  link.classList.toggle("lost", !ok);
  document.getElementById("link-text").textContent = ok ? "live" : "connection lost";
  document.getElementById("lost").hidden = ok;
  document.body.classList.toggle("lost", !ok);
  document.getElementById("lost-detail").textContent = detail || "";
}

async function refresh() {
  try {
    const answer = await fetch(STATUS_URL, { cache: "no-store", credentials: "same-origin" });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const status = await answer.json();
    renderTotals(status);
    renderListeners(status);
    renderPools(status);
    renderChanges(status);
    document.body.dataset.generatedAt = status.generated_at;
    setLink(true);
  } catch (e) {
    setLink(false, `(${e.message})`);
  } finally {
    setTimeout(refresh, PERIOD_MS);
  }
}

refresh();
