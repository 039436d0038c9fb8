// The operator's dashboard: one push stream (/v1/dashboard/stream), a sample a second, drawn
// over the last ten minutes with uPlot (vendored in /ui/vendor/). A value the server could not
// read is shown as n/a with the reason it gave.
import { $, apiJson, el, eventStream, holdToConfirm, initTheme, toast } from "./common.js";

const WINDOW_S = 600;

const fmt = (v, digits = 0, unit = "") =>
  v === null || v === undefined ? "n/a" : `${Number(v).toFixed(digits)}${unit}`;

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const PALETTE = ["--chart-1", "--chart-2", "--chart-3", "--chart-4", "--chart-5", "--chart-6"];

// Each chart: the series a sample gives (label, value, options), a readout and the reasons
// for what could not be read. `count` says whether the sample had real data for the chart.
const CHARTS = {
  latency: {
    testid: "chart-latency",
    scales: { ms: {}, rtf: { side: 1, label: "RTF" } },
    series(s) {
      const l = s.latency;
      return [
        { label: "final p50 ms", value: l.p50_ms, scale: "ms" },
        { label: "final p95 ms", value: l.p95_ms, scale: "ms" },
        { label: "card p50 ms", value: l.card_p50_ms, scale: "ms", dash: [6, 4] },
        { label: "card p95 ms", value: l.card_p95_ms, scale: "ms", dash: [6, 4] },
        { label: "RTF", value: s.rtf.value, scale: "rtf", digits: 3 },
      ];
    },
    readout: (s) =>
      `p50 ${fmt(s.latency.p50_ms, 0, " ms")} · p95 ${fmt(s.latency.p95_ms, 0, " ms")} · RTF ${fmt(s.rtf.value, 3)}`,
    na: (s) => [
      s.latency.reason && `latency n/a: ${s.latency.reason}`,
      s.rtf.reason && `RTF n/a: ${s.rtf.reason}`,
    ],
  },
  memory: {
    testid: "chart-memory",
    scales: { mb: { from0: true } },
    series(s) {
      const m = s.memory;
      return [
        { label: "process RSS", value: m.rss_mb, scale: "mb", width: 3 },
        ...(m.components || []).map((c) => ({ label: c.name, value: c.mb, scale: "mb" })),
        { label: "budget", value: m.budget_mb, scale: "mb", dash: [8, 6], fixed: true },
      ];
    },
    readout: (s) => `RSS ${fmt(s.memory.rss_mb, 0)} / budget ${fmt(s.memory.budget_mb, 0)} MiB`,
    na: (s) => [
      s.memory.reason && `RSS n/a: ${s.memory.reason}`,
      s.memory.budget_reason && `budget n/a: ${s.memory.budget_reason}`,
      ...(s.memory.components || [])
        .filter((c) => c.mb === null)
        .map((c) => `${c.name} n/a: ${c.reason}`),
    ],
  },
  cpuGpu: {
    testid: "chart-cpu-gpu",
    scales: { pct: { range: [0, 100] } },
    series(s) {
      const cores = s.cpu.cores || [];
      return [
        ...cores.map((v, i) => ({
          label: `cpu${i}`,
          value: v === null ? null : v * 100,
          scale: "pct",
          width: 1,
        })),
        {
          label: "GPU",
          value: s.gpu.share === null ? null : s.gpu.share * 100,
          scale: "pct",
          width: 3,
        },
      ];
    },
    readout(s) {
      const cores = (s.cpu.cores || []).filter((v) => v !== null);
      const avg = cores.length ? (100 * cores.reduce((a, b) => a + b, 0)) / cores.length : null;
      const gpu = s.gpu.share === null ? null : 100 * s.gpu.share;
      return `CPU ${fmt(avg, 0, " %")} (${cores.length} cores) · GPU ${fmt(gpu, 0, " %")}`;
    },
    na: (s) => [
      s.cpu.reason && `CPU n/a: ${s.cpu.reason}`,
      s.gpu.reason && `GPU n/a: ${s.gpu.reason}`,
    ],
  },
  temperature: {
    testid: "chart-temperature",
    scales: { c: {} },
    series(s) {
      const t = s.thermal;
      return [
        ...t.zones.map((z) => ({ label: z.name, value: z.temp_c, scale: "c" })),
        ...t.trips.map((trip) => ({
          label: `${trip.kind} ${trip.temp_c}`,
          value: trip.temp_c,
          scale: "c",
          dash: [8, 6],
          fixed: true,
          danger: true,
        })),
      ];
    },
    readout(s) {
      const hottest = s.thermal.zones.reduce((a, z) => (a && a.temp_c >= z.temp_c ? a : z), null);
      const trip = s.thermal.trips.find((t) => t.kind === "passive" || t.kind === "hot");
      return hottest
        ? `${hottest.name} ${fmt(hottest.temp_c, 1, " °C")}` +
            (trip ? ` · throttles at ${trip.temp_c} °C` : "")
        : "n/a";
    },
    na: (s) => [
      s.thermal.reason && `temperatures n/a: ${s.thermal.reason}`,
      s.thermal.offline.length && `offline: ${s.thermal.offline.length} sensor(s)`,
    ],
  },
  power: {
    testid: "chart-power",
    scales: { w: { from0: true }, h: { side: 1, label: "h", from0: true } },
    series(s) {
      const p = s.power;
      return [
        ...p.rails.map((r) => ({ label: r.name, value: r.w, scale: "w", digits: 2 })),
        { label: "battery h", value: p.battery_h, scale: "h", width: 3, digits: 1 },
      ];
    },
    readout(s) {
      const input = s.power.rails.find((r) => r.name === "VDD_IN" || r.name === "POM_5V_IN");
      return `in ${fmt(input?.w, 2, " W")} · battery ${fmt(s.power.battery_h, 1, " h")}`;
    },
    na: (s) => [
      s.power.reason && `rails n/a: ${s.power.reason}`,
      s.power.battery_reason && `battery n/a: ${s.power.battery_reason}`,
      ...s.power.rails.filter((r) => r.w === null).map((r) => `${r.name} n/a: ${r.reason}`),
    ],
  },
};

const charts = {};
for (const [key, spec] of Object.entries(CHARTS)) {
  const box = document.querySelector(`[data-testid="${spec.testid}"]`);
  charts[key] = {
    spec,
    box,
    plotNode: $("[data-plot]", box),
    xs: [],
    labels: [],
    meta: [],
    ys: [],
    plot: null,
    points: 0,
  };
}

function addSample(sample) {
  for (const chart of Object.values(charts)) {
    const series = chart.spec.series(sample);
    const labels = series.map((s) => s.label);
    if (labels.join("\u0000") !== chart.labels.join("\u0000")) {
      // New series (a component loaded, a zone appeared): keep history for those still there.
      const old = new Map(chart.labels.map((label, i) => [label, chart.ys[i]]));
      chart.ys = labels.map((label) => old.get(label) || chart.xs.map(() => null));
      chart.labels = labels;
      chart.meta = series;
      chart.plot?.destroy();
      chart.plot = null;
    }
    chart.xs.push(sample.t);
    series.forEach((s, i) => chart.ys[i].push(s.value ?? null));
    while (chart.xs.length && chart.xs[0] < sample.t - WINDOW_S) {
      chart.xs.shift();
      for (const ys of chart.ys) ys.shift();
    }
    if (series.some((s) => !s.fixed && s.value !== null && s.value !== undefined)) {
      chart.points += 1;
    }
  }
}

function draw(sample) {
  for (const chart of Object.values(charts)) {
    const { spec, box } = chart;
    box.dataset.points = String(chart.points);
    $("[data-readout]", box).textContent = spec.readout(sample);
    const reasons = spec.na(sample).filter(Boolean);
    $("[data-na]", box).replaceChildren(...reasons.map((r) => el("div", { text: r })));
    const data = [chart.xs, ...chart.ys];
    if (!chart.plot) chart.plot = makePlot(chart, data);
    else chart.plot.setData(data);
  }
}

function niceMax(max) {
  if (max === null || !Number.isFinite(max) || max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil((max * 1.1) / step) * step;
}

function makePlot(chart, data) {
  const text = cssVar("--muted");
  const grid = cssVar("--grid");
  const danger = cssVar("--urgent");
  const scales = { x: { time: true } };
  const clock = (_u, splits) =>
    splits.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false }));
  const axes = [{ stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, values: clock }];
  for (const [name, scale] of Object.entries(chart.spec.scales)) {
    if (scale.range) scales[name] = { range: scale.range };
    else if (scale.from0) scales[name] = { range: (_u, _min, max) => [0, niceMax(max)] };
    else scales[name] = { auto: true };
    axes.push({
      scale: name,
      side: scale.side ?? 3,
      stroke: text,
      label: scale.label,
      grid: { show: !scale.side, stroke: grid },
      ticks: { stroke: grid },
      size: 56,
    });
  }
  const series = [
    {},
    ...chart.meta.map((s, i) => ({
      label: s.label,
      scale: s.scale,
      stroke: s.danger ? danger : cssVar(PALETTE[i % PALETTE.length]),
      width: s.width ?? 2,
      dash: s.dash,
      spanGaps: false,
      value: (_u, v) => (v === null || v === undefined ? "n/a" : v.toFixed(s.digits ?? 0)),
    })),
  ];
  const width = Math.max(300, chart.plotNode.clientWidth || 440);
  return new uPlot(
    {
      width,
      height: 220,
      scales,
      axes,
      series,
      // The readout above each chart gives the values now; the legend names the lines.
      legend: { show: true, live: false },
      cursor: { y: false },
    },
    data,
    chart.plotNode,
  );
}

const resize = new ResizeObserver(() => {
  for (const chart of Object.values(charts)) {
    if (chart.plot) chart.plot.setSize({ width: Math.max(300, chart.plotNode.clientWidth), height: 220 });
  }
});
for (const chart of Object.values(charts)) resize.observe(chart.plotNode);

document.addEventListener("themechange", () => {
  for (const chart of Object.values(charts)) {
    chart.plot?.destroy();
    chart.plot = null;
  }
  if (last) draw(last);
});

// -- pipeline, actions, components ----------------------------------------------------------

const utterances = new Map();

function addPipeline(items) {
  for (const u of items) utterances.set(u.seq, u);
  const recent = [...utterances.values()].sort((a, b) => b.seq - a.seq).slice(0, 8);
  for (const key of [...utterances.keys()]) {
    if (!recent.some((u) => u.seq === key)) utterances.delete(key);
  }
  if (!recent.length) return;
  const longest = Math.max(1000, ...recent.map((u) => u.total_ms || 0));
  $("#pipeline").replaceChildren(
    ...recent.map((u) => {
      const stages = [
        ["transcript", u.transcript_ms],
        ["facts", u.facts_ms],
        ["card", u.card_ms],
      ];
      return el(
        "div",
        { class: "utt", "data-testid": "pipeline-utterance" },
        el("span", { text: `${u.session} #${u.utterance} · ${u.n_facts} facts` }),
        el(
          "div",
          { class: "bars" },
          stages.map(([name, ms]) =>
            ms === null || ms === undefined
              ? null
              : el("div", {
                  class: `s-${name}`,
                  title: `${name} ${ms} ms`,
                  text: `${Math.round(ms)}`,
                  dataset: { width: ms / longest },
                }),
          ),
        ),
        el("span", { class: "num", text: fmt(u.total_ms, 0, " ms") }),
      );
    }),
  );
  // Widths through the CSSOM (no inline style attribute: the page's CSP refuses those).
  for (const bar of document.querySelectorAll("#pipeline .bars div")) {
    bar.style.width = `${Math.max(0.5, Number(bar.dataset.width) * 100)}%`;
  }
}

const seenActions = new Set();
const actions = [];

function addActions(items) {
  for (const a of items) {
    const key = `${a.at}|${a.action}|${a.reason}|${a.result}`;
    if (seenActions.has(key)) continue;
    seenActions.add(key);
    actions.push(a);
  }
  if (!actions.length) return;
  actions.sort((a, b) => b.at - a.at);
  actions.splice(100);
  $("#actions").replaceChildren(
    ...actions.map((a) =>
      el(
        "div",
        { "data-testid": "action" },
        el("span", { class: "num", text: new Date(a.at * 1000).toLocaleTimeString([], { hour12: false }) }),
        el("strong", { text: a.action }),
        el("span", { text: `${a.reason} → ${a.result}` }),
      ),
    ),
  );
}

let componentsKey = "";

function renderComponents(sample) {
  const list = sample.memory.components || [];
  const key = JSON.stringify(list.map((c) => [c.name, c.state, c.mb, c.detail]));
  if (key === componentsKey) return;
  componentsKey = key;
  const body = $("#components");
  if (!list.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 5, text: "n/a: no runtime manager" })));
    return;
  }
  body.replaceChildren(
    ...list.map((c) => {
      let action = null;
      if (c.state !== "loaded" && c.state !== "loading") {
        action = el("button", { type: "button", class: "btn", text: "Load", onclick: () => operate(c.name, "load") });
      } else if (c.state === "loaded" && !c.essential) {
        action = el("button", { type: "button", class: "btn danger", "data-testid": `unload-${c.name}` }, el("span", { text: "Hold to unload" }));
        holdToConfirm(action, () => operate(c.name, "unload"));
      } else if (c.essential) {
        // The runtime never unloads what transcription needs: say so instead of a button.
        action = el("span", { class: "muted", text: "always on" });
      }
      return el(
        "tr",
        { dataset: { component: c.name } },
        el("td", { text: c.name }),
        el("td", { text: c.detail ? `${c.state} (${c.detail})` : c.state }),
        el("td", { class: "num", text: fmt(c.mb, 0) }),
        el("td", { class: "num", text: fmt(c.expected_mb, 0) }),
        el("td", {}, action),
      );
    }),
  );
}

async function operate(name, verb) {
  try {
    await apiJson(`/v1/runtime/components/${name}/${verb}`, { method: "POST" });
    toast(`${name}: ${verb} done`);
  } catch (error) {
    toast(`${name}: ${verb} failed: ${error.message}`);
  }
}

function renderProfiles(profiles) {
  const box = $("#profiles");
  if (box.childElementCount) return;
  for (const name of profiles) {
    const button = el("button", { type: "button", class: "btn big", dataset: { profile: name } }, el("span", { text: name }));
    holdToConfirm(button, async () => {
      try {
        await apiJson(`/v1/runtime/power/${name}`, { method: "POST" });
        toast(`Power profile ${name} applied`);
      } catch (error) {
        toast(`Profile ${name} failed: ${error.message}`);
      }
    });
    box.append(button);
  }
}

function renderState(sample) {
  const r = sample.runtime;
  $("#runtime-state").textContent = r
    ? `model ${r.speech_model} · beam ${r.beam_size ?? "as set"} · heat step ${r.heat_step}` +
      `${r.power_profile ? ` · profile ${r.power_profile}` : ""} · ${sample.sessions.live} live`
    : "runtime n/a: no runtime manager";
  for (const button of document.querySelectorAll("#profiles [data-profile]")) {
    button.classList.toggle("primary", r?.power_profile === button.dataset.profile);
  }
  $("#cost").textContent = `sampling ${fmt(sample.cost.sample_cpu_ms, 2, " ms")} CPU/s`;
}

// -- the stream -----------------------------------------------------------------------------

let last = null;

function onEvent(event) {
  if (event.type === "init") {
    for (const chart of Object.values(charts)) {
      chart.xs = [];
      chart.ys = chart.ys.map(() => []);
      chart.points = 0;
    }
    for (const sample of event.history) addSample(sample);
    addPipeline([...event.pipeline, ...event.history.flatMap((s) => s.pipeline)]);
    addActions([...event.actions, ...event.history.flatMap((s) => s.actions)]);
    renderProfiles(event.profiles);
    if (event.history.length) {
      last = event.history[event.history.length - 1];
      draw(last);
    }
  } else if (event.type === "sample") {
    addSample(event);
    addPipeline(event.pipeline);
    addActions(event.actions);
    renderComponents(event);
    renderState(event);
    last = event;
    draw(event);
  }
}

const statusNode = $("#status");
const stream = eventStream("/v1/dashboard/stream", {
  onEvent,
  onStatus(status) {
    statusNode.dataset.state = status;
    statusNode.textContent = status === "open" ? "Live" : "Reconnecting…";
    statusNode.className = `status ${status === "open" ? "ok" : "warn"}`;
  },
});
statusNode.addEventListener("click", () => stream.reconnect());
initTheme($("#theme"));
window.tcccDashboard = { charts };
