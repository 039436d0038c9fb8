// The medic's page: record from the microphone over /v1/stream, follow the session's feed
// (cards, prompts, transcript), confirm and correct values, download the hand-off documents.
import {
  $,
  api,
  apiJson,
  download,
  el,
  eventStream,
  hms,
  holdToConfirm,
  initTheme,
  mmss,
  toast,
  wsUrl,
} from "./common.js";

const SESSION_KEY = "tccc.session";
const WARN_BEFORE_S = 30 * 60; // a deadline this close turns the clock amber (rules: 30 min)
const CHUNK_S = 0.1;

const S = {
  session: null, // the session shown
  state: null, // its last `state` event
  receivedAt: 0, // performance.now() when it came
  feed: null,
  feedStatus: "idle",
  rec: null, // the recording in progress
  partials: new Map(), // utterance_id -> {committed, tentative}
  finals: new Map(), // utterance_id -> text, from the recording's WebSocket
  seenFacts: new Set(),
  measured: new Set(),
  finalsMeasured: new Set(),
  // Measurements a test (or a curious operator) can read: from the end of speech to the
  // card showing its fact, and to the final transcript showing, in milliseconds.
  metrics: { card: [], final: [] },
};

window.tccc = {
  metrics: S.metrics,
  get session() {
    return S.session;
  },
  get recording() {
    return S.rec !== null;
  },
  reconnect: () => S.feed?.reconnect(),
};

// -- status ---------------------------------------------------------------------------------

function showStatus() {
  const node = $("#status");
  let text = "Not connected";
  let cls = "";
  if (S.rec) {
    text = S.rec.sessionId ? "● Recording" : "Starting…";
    cls = "rec";
  } else if (S.feedStatus === "open") {
    const live = S.state?.session?.live;
    text = live ? "Live" : S.state ? "Ended · saved" : "Connected";
    cls = "ok";
  } else if (S.feedStatus === "retry") {
    text = "Reconnecting…";
    cls = "warn";
  } else if (S.feedStatus === "connecting") {
    text = "Connecting…";
  } else if (S.feedStatus === "gone") {
    text = "Session not found";
    cls = "warn";
  }
  if (S.rec && S.feedStatus === "retry") {
    text = "● Recording · card reconnecting…";
  }
  node.textContent = text;
  node.className = `status ${cls}`;
  node.dataset.state = S.feedStatus;
  const label = $("#session-label");
  label.textContent = S.session ? `session ${S.session.slice(0, 8)}` : "";
}

// -- following a session ----------------------------------------------------------------------

function attach(sessionId) {
  if (S.session !== sessionId) {
    S.feed?.close();
    S.session = sessionId;
    S.state = null;
    S.partials.clear();
    S.finals.clear();
    $("#cards").replaceChildren(emptyCards());
    $("#prompts").replaceChildren();
    $("#transcript").replaceChildren();
  } else if (S.feed) {
    return;
  }
  sessionStorage.setItem(SESSION_KEY, sessionId);
  $("#downloads").hidden = false;
  $("#sessions").hidden = true;
  S.feedStatus = "connecting";
  showStatus();
  S.feed = eventStream(`/v1/sessions/${sessionId}/feed`, {
    onEvent: onFeedEvent,
    onStatus: (status) => {
      S.feedStatus = status;
      if (status === "gone") {
        sessionStorage.removeItem(SESSION_KEY);
        S.feed = null;
      }
      showStatus();
    },
  });
}

function onFeedEvent(event) {
  if (event.type === "state") {
    S.state = event;
    S.receivedAt = performance.now();
    for (const t of event.transcripts) S.partials.delete(t.utterance_id);
    render();
  } else if (event.type === "partial") {
    if (!S.state || !S.state.transcripts.some((t) => t.utterance_id === event.utterance_id)) {
      S.partials.set(event.utterance_id, event);
      renderTranscript();
    }
  }
}

function emptyCards() {
  return el("p", {
    class: "empty",
    text: "Start recording, or attach to a running session. The card fills in as you talk.",
  });
}

// -- rendering ------------------------------------------------------------------------------

function nowS() {
  if (!S.state) return 0;
  const live = S.state.session.live;
  return S.state.now_s + (live ? (performance.now() - S.receivedAt) / 1000 : 0);
}

function render() {
  showStatus();
  renderPrompts();
  renderCards();
  renderTranscript();
  tick();
  measureCards();
}

function renderPrompts() {
  const box = $("#prompts");
  const many = S.state.casualties.length > 1;
  const order = { urgent: 0, warning: 1, info: 2 };
  const prompts = S.state.casualties.flatMap((c) =>
    c.prompts.map((p) => ({ ...p, casualty: c.label, who: c.title })),
  );
  prompts.sort(
    (a, b) =>
      (order[a.severity] ?? 3) - (order[b.severity] ?? 3) ||
      (a.deadline_s ?? Infinity) - (b.deadline_s ?? Infinity),
  );
  box.replaceChildren(
    ...prompts.map((p) =>
      el(
        "div",
        {
          class: `prompt sev-${p.severity}`,
          "data-testid": "prompt",
          dataset: { rule: p.rule, casualty: p.casualty, deadlineS: p.deadline_s ?? "" },
        },
        el("span", { class: "rule", text: p.rule }),
        el("span", { class: "ptitle", text: many ? `${p.title} · ${p.who}` : p.title }),
        el("span", { class: "deadline clock", text: p.deadline ? `by ${p.deadline}` : "" }),
        p.deadline_s !== null && p.deadline_s !== undefined
          ? el("span", { class: "countdown", text: "" })
          : null,
        el("span", { class: "ptext", text: p.text }),
      ),
    ),
  );
}

function tick() {
  if (!S.state) return;
  const now = nowS();
  for (const node of document.querySelectorAll(".prompt[data-deadline-s]")) {
    const deadline = Number.parseFloat(node.dataset.deadlineS);
    const countdown = $(".countdown", node);
    if (Number.isNaN(deadline) || !countdown) continue;
    const left = deadline - now;
    countdown.textContent = left >= 0 ? `${hms(left)} left` : `${hms(-left)} over`;
    node.classList.toggle("near", left >= 0 && left <= WARN_BEFORE_S);
    node.classList.toggle("overdue", left < 0);
  }
  const clock = S.state.clock;
  const scene = $("#scene-clock");
  if (clock && clock.anchor_min !== null) {
    const minute = clock.anchor_min + Math.floor((now - clock.anchor_s) / 60);
    const m = ((minute % 1440) + 1440) % 1440;
    scene.textContent = `${String(Math.floor(m / 60)).padStart(2, "0")}${String(m % 60).padStart(2, "0")}`;
  } else {
    scene.textContent = "";
  }
}

setInterval(tick, 1000);

function valueButton(v, label) {
  const classes = ["value"];
  if (v.unconfirmed) classes.push("unconfirmed");
  else if (v.corrected) classes.push("corrected");
  return el(
    "button",
    {
      type: "button",
      class: classes.join(" "),
      "data-testid": "value",
      dataset: { fact: v.fact ?? "", kind: v.kind ?? "" },
      onclick: () => openEvidence(v, label),
    },
    label ? el("span", { class: "lbl", text: label }) : null,
    el("span", { class: "v", text: v.text }),
  );
}

function confirmButton(factId) {
  return el(
    "button",
    {
      type: "button",
      class: "btn confirm",
      "data-testid": "confirm",
      dataset: { fact: factId },
      onclick: () => confirmFact(factId),
    },
    "Confirm",
  );
}

function valueRow(v, label) {
  return el(
    "div",
    { class: "row" },
    valueButton(v, label),
    v.unconfirmed && v.fact !== null ? confirmButton(v.fact) : null,
  );
}

function renderCards() {
  const box = $("#cards");
  const cards = S.state.casualties;
  if (!cards.length) {
    box.replaceChildren(
      el("p", {
        class: "empty",
        text: S.state.session.analysed
          ? "No casualty facts yet."
          : "This server does not analyse sessions (transcript only).",
      }),
    );
    return;
  }
  box.replaceChildren(...cards.map(renderCard));
}

function renderCard(c) {
  const head = el(
    "div",
    { class: "card-head" },
    el("h3", { text: c.title }),
    c.evac
      ? el("span", {
          class: `badge evac-${String(c.evac.text).toLowerCase()}`,
          text: c.evac.text.toUpperCase(),
        })
      : null,
    c.suggestions.length
      ? el("span", { class: "badge unconf", text: `${c.suggestions.length} to confirm` })
      : null,
  );
  const march = el(
    "div",
    { class: "march", "aria-label": "MARCH-PAWS" },
    c.march.map((m) =>
      el("span", {
        class: m.status.replace(" ", "-"),
        title: `${m.key.replace("_", " ")}: ${m.status}`,
        text: m.letter,
      }),
    ),
  );
  const legend = el("div", {
    class: "march-legend",
    text: "MARCH-PAWS · filled: done · outlined: in progress · dim: not assessed",
  });
  const parts = [head, march, legend];
  const top = [];
  if (c.time_of_injury) top.push(valueRow(c.time_of_injury, "Injured at"));
  if (c.evac) top.push(valueRow(c.evac, "Evac"));
  if (top.length) parts.push(el("div", { class: "rows" }, top));
  for (const section of c.sections) {
    parts.push(
      el(
        "div",
        { class: "section", dataset: { section: section.kind } },
        el("h4", { text: section.title }),
        el(
          "div",
          { class: "rows" },
          section.rows.map((v) => valueRow(v)),
        ),
      ),
    );
  }
  if (c.vitals.columns.length) parts.push(renderVitals(c.vitals));
  if (c.identity.length) {
    parts.push(
      el(
        "div",
        { class: "section", dataset: { section: "identity" } },
        el("h4", { text: "Identity" }),
        el(
          "div",
          { class: "rows" },
          c.identity.map((v) => valueRow(v, v.label)),
        ),
      ),
    );
  }
  return el(
    "article",
    { class: "card", "data-testid": "casualty-card", dataset: { label: c.label } },
    parts,
  );
}

function renderVitals(vitals) {
  const header = el(
    "tr",
    {},
    el("th", {}),
    vitals.columns.map((col) => el("th", { text: col.time || `+${mmss(col.at_s)}` })),
  );
  const rows = vitals.signs.map((sign) =>
    el(
      "tr",
      {},
      el("th", { text: sign.label }),
      vitals.columns.map((col) =>
        el("td", {}, col.cells[sign.key] ? valueButton(col.cells[sign.key]) : ""),
      ),
    ),
  );
  return el(
    "div",
    { class: "section vitals", dataset: { section: "vitals" } },
    el("h4", { text: "Vital signs" }),
    el("table", {}, el("thead", {}, header), el("tbody", {}, rows)),
  );
}

function renderTranscript() {
  const box = $("#transcript");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const lines = [];
  const finals = new Map();
  for (const t of S.state?.transcripts || []) finals.set(t.utterance_id, t);
  // Finals the recording's WebSocket brought before the feed's next state.
  for (const [id, t] of S.finals) if (!finals.has(id)) finals.set(id, t);
  const ids = [...finals.keys()].sort((a, b) => a - b).slice(-200);
  for (const id of ids) {
    const t = finals.get(id);
    lines.push(
      el(
        "p",
        { class: "line final", dataset: { utterance: id } },
        el("span", { class: "t", text: mmss(t.start) }),
        t.text,
      ),
    );
  }
  for (const [id, p] of [...S.partials.entries()].sort((a, b) => a[0] - b[0])) {
    if (finals.has(id)) continue;
    lines.push(
      el(
        "p",
        { class: "line partial", dataset: { utterance: id } },
        p.committed,
        p.tentative ? el("span", { class: "tentative", text: ` ${p.tentative}` }) : null,
      ),
    );
  }
  box.replaceChildren(...lines);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// -- evidence, confirm, correct ---------------------------------------------------------------

let current = null; // the value whose evidence dialog is open

function openEvidence(v, label) {
  current = v;
  const dialog = $("#evidence-dialog");
  $("#evidence-title").textContent = label ? `${label}: ${v.text}` : v.text;
  const said = $("#evidence-said");
  said.replaceChildren();
  const meta = [];
  for (const e of v.evidence) {
    const t = S.state?.transcripts.find((x) => x.utterance_id === e.utterance_id);
    const text = t?.normalised;
    if (text && e.end <= text.length && text.slice(e.start, e.end) === e.text) {
      said.append(
        el(
          "p",
          {},
          "“",
          text.slice(0, e.start),
          el("mark", { text: text.slice(e.start, e.end) }),
          text.slice(e.end),
          "”",
        ),
      );
    } else {
      said.append(el("p", {}, "“", el("mark", { text: e.text }), "”"));
    }
    const bits = [`utterance ${e.utterance_id}`];
    if (e.audio_start !== null) bits.push(`${mmss(e.audio_start)}–${mmss(e.audio_end)}`);
    if (e.confidence !== null && e.confidence !== undefined) {
      bits.push(`heard with ${Math.round(e.confidence * 100)} % certainty`);
    }
    if (e.raw && e.raw !== e.text) bits.push(`heard as “${e.raw}”`);
    meta.push(bits.join(" · "));
  }
  if (v.source) meta.push(`from ${v.source}${v.corrected ? " (corrected)" : ""}`);
  $("#evidence-meta").replaceChildren(...meta.map((m) => el("div", { text: m })));
  $("#evidence-confirm").hidden = !(v.unconfirmed && v.fact !== null);
  $("#evidence-correct").hidden = !(v.fact !== null && Object.keys(v.edit || {}).length);
  dialog.showModal();
}

$("#evidence-close").addEventListener("click", () => $("#evidence-dialog").close());
$("#evidence-confirm").addEventListener("click", async () => {
  $("#evidence-dialog").close();
  if (current) await confirmFact(current.fact);
});
$("#evidence-correct").addEventListener("click", () => {
  $("#evidence-dialog").close();
  if (current) openCorrect(current);
});

async function confirmFact(factId) {
  try {
    await apiJson(`/v1/sessions/${S.session}/facts/${factId}/confirm`, { method: "POST" });
    toast("Confirmed");
  } catch (error) {
    toast(`Not confirmed: ${error.message}`);
  }
}

function openCorrect(v) {
  const fields = $("#correct-fields");
  fields.replaceChildren(
    ...Object.entries(v.edit).map(([key, value]) =>
      el(
        "label",
        {},
        key.replace("_", " "),
        el("input", {
          name: key,
          value: value ?? "",
          inputmode: typeof value === "number" ? "decimal" : "text",
          autocomplete: "off",
          "data-testid": `correct-${key}`,
        }),
      ),
    ),
  );
  $("#correct-title").textContent = `Correct ${v.kind === "vital" ? "reading" : v.kind}`;
  const dialog = $("#correct-dialog");
  dialog.dataset.fact = v.fact;
  dialog.showModal();
  fields.querySelector("input")?.focus();
}

$("#correct-cancel").addEventListener("click", () => $("#correct-dialog").close());
$("#correct-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const dialog = $("#correct-dialog");
  const factId = dialog.dataset.fact;
  const data = {};
  const original = current?.edit || {};
  for (const input of dialog.querySelectorAll("input")) {
    const before = original[input.name];
    if (String(before ?? "") !== input.value) data[input.name] = input.value;
  }
  dialog.close();
  if (!Object.keys(data).length) return;
  try {
    await apiJson(`/v1/sessions/${S.session}/facts/${factId}/correct`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ data }),
    });
    toast("Corrected (the old value stays in the log)");
  } catch (error) {
    toast(`Not corrected: ${error.message}`);
  }
});

// -- recording ------------------------------------------------------------------------------

async function startRecording() {
  if (S.rec) return;
  if (!navigator.mediaDevices?.getUserMedia || !window.AudioWorkletNode) {
    toast(
      "The microphone needs a secure page: open it as https:// or on the board itself " +
        "(localhost). You can still attach to a session.",
      8000,
    );
    return;
  }
  $("#start").disabled = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        channelCount: 1,
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      },
    });
  } catch (error) {
    toast(`No microphone: ${error.message}`);
    $("#start").disabled = false;
    return;
  }
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule("/ui/capture-worklet.js");
  const rate = ctx.sampleRate;
  const ws = new WebSocket(
    wsUrl("/v1/stream", { format: "s16le", rate, width: 2, channels: 1, language: "en" }),
  );
  ws.binaryType = "arraybuffer";
  const rec = { ws, ctx, stream, rate, samples: 0, chunks: [], sessionId: null, stopping: false };
  S.rec = rec;
  S.finals.clear();
  showStatus();
  ws.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "session") {
      rec.sessionId = event.id;
      attach(event.id);
      beginAudio(rec);
      $("#start").hidden = true;
      $("#stop").hidden = false;
      showStatus();
    } else if (event.type === "partial") {
      S.partials.set(event.utterance_id, event);
      renderTranscript();
    } else if (event.type === "final") {
      onFinal(rec, event);
    } else if (event.type === "error") {
      toast(event.message, 8000);
    }
  };
  ws.onclose = () => {
    if (!rec.stopping) {
      toast("The recording connection dropped. Everything heard is saved; start again to go on.", 8000);
    }
    endRecording(rec);
  };
}

function beginAudio(rec) {
  const source = rec.ctx.createMediaStreamSource(rec.stream);
  const node = new AudioWorkletNode(rec.ctx, "tccc-capture", {
    processorOptions: { chunk: Math.round(rec.rate * CHUNK_S) },
  });
  const mute = rec.ctx.createGain();
  mute.gain.value = 0;
  source.connect(node);
  node.connect(mute);
  mute.connect(rec.ctx.destination);
  node.port.onmessage = (message) => {
    const data = message.data;
    if (data.pcm) {
      if (rec.ws.readyState === WebSocket.OPEN) rec.ws.send(data.pcm);
      rec.samples += data.pcm.byteLength / 2;
      // When each chunk's last sample was here: the end of an utterance is timed from it.
      rec.chunks.push([rec.samples / rec.rate, performance.now()]);
      $("#level").style.width = `${Math.min(100, Math.round(data.peak * 140))}%`;
    } else if (data.stopped && rec.ws.readyState === WebSocket.OPEN) {
      rec.ws.send(JSON.stringify({ type: "stop" }));
    }
  };
  rec.node = node;
}

// performance.now() when the audio at session second `s` was captured (null if unknown).
function capturedAt(rec, s) {
  for (const [end, at] of rec.chunks) {
    if (end >= s) return at - (end - s) * 1000;
  }
  return null;
}

function onFinal(rec, event) {
  S.partials.delete(event.utterance_id);
  S.finals.set(event.utterance_id, { start: event.start, text: event.text });
  renderTranscript();
  const end = event.words?.length ? event.words[event.words.length - 1].end : event.end;
  const at = capturedAt(rec, end);
  if (at !== null && !S.finalsMeasured.has(event.utterance_id)) {
    S.finalsMeasured.add(event.utterance_id);
    requestAnimationFrame(() =>
      S.metrics.final.push({ utterance: event.utterance_id, ms: performance.now() - at }),
    );
  }
}

// The first time a fact of an utterance reaches the card, time it from the end of its speech.
function measureCards() {
  const rec = S.rec || S.lastRec;
  if (!rec || !S.state || S.state.session.id !== rec.sessionId) return;
  const fresh = new Set();
  const visit = (v) => {
    if (!v || v.fact === null || v.fact === undefined || S.seenFacts.has(v.fact)) return;
    S.seenFacts.add(v.fact);
    const uid = v.evidence?.[0]?.utterance_id;
    if (uid !== undefined && !S.measured.has(uid)) fresh.add(uid);
  };
  for (const c of S.state.casualties) {
    for (const v of [c.evac, c.time_of_injury, ...c.identity]) visit(v);
    for (const s of c.sections) for (const v of s.rows) visit(v);
    for (const col of c.vitals.columns) for (const v of Object.values(col.cells)) visit(v);
  }
  if (!fresh.size) return;
  const ends = new Map(S.state.transcripts.map((t) => [t.utterance_id, t.speech_end]));
  requestAnimationFrame(() => {
    const shown = performance.now();
    for (const uid of fresh) {
      S.measured.add(uid);
      const at = ends.has(uid) ? capturedAt(rec, ends.get(uid)) : null;
      if (at !== null) S.metrics.card.push({ utterance: uid, ms: shown - at });
    }
  });
}

function stopRecording() {
  const rec = S.rec;
  if (!rec || rec.stopping) return;
  rec.stopping = true;
  $("#stop").disabled = true;
  if (rec.node) rec.node.port.postMessage("stop");
  else rec.ws.close();
}

function endRecording(rec) {
  if (S.rec !== rec) return;
  for (const track of rec.stream.getTracks()) track.stop();
  rec.ctx.close();
  S.lastRec = rec;
  S.rec = null;
  $("#start").hidden = false;
  $("#start").disabled = false;
  $("#stop").hidden = true;
  $("#stop").disabled = false;
  $("#level").style.width = "0";
  showStatus();
}

// -- sessions to attach to ------------------------------------------------------------------

async function listSessions() {
  const sheet = $("#sessions");
  if (!sheet.hidden) {
    sheet.hidden = true;
    return;
  }
  let body;
  try {
    body = await apiJson("/v1/sessions");
  } catch (error) {
    toast(`Cannot list sessions: ${error.message}`);
    return;
  }
  const rows = body.sessions.slice(0, 12).map((s) =>
    el(
      "button",
      {
        type: "button",
        class: "btn big",
        "data-testid": "session-row",
        dataset: { session: s.id },
        onclick: () => attach(s.id),
      },
      el("span", {
        text: `${new Date(s.started_at * 1000).toLocaleTimeString([], { hour12: false })} · ${s.source}`,
      }),
      el("span", {
        text: `${s.facts ?? "–"} facts · ${s.live ? "LIVE" : "ended"} · ${s.id.slice(0, 8)}`,
      }),
    ),
  );
  sheet.replaceChildren(
    el("h2", { text: "Attach to a session" }),
    ...(rows.length ? rows : [el("p", { class: "empty", text: "No sessions yet." })]),
  );
  sheet.hidden = false;
}

// -- start ----------------------------------------------------------------------------------

initTheme($("#theme"));
$("#start").addEventListener("click", startRecording);
holdToConfirm($("#stop"), stopRecording);
$("#attach").addEventListener("click", listSessions);
$("#status").addEventListener("click", () => S.feed?.reconnect());
for (const button of document.querySelectorAll("[data-report]")) {
  button.addEventListener("click", async () => {
    if (!S.session) return;
    try {
      await download(`/v1/sessions/${S.session}/report/${button.dataset.report}`, "report");
    } catch (error) {
      toast(`Download failed: ${error.message}`);
    }
  });
}
window.addEventListener("online", () => S.feed?.reconnect());

(async () => {
  // Ask for the token once, up front, when the server wants one.
  try {
    await api("/v1/sessions");
  } catch (error) {
    S.feedStatus = "retry";
    showStatus();
  }
  const wanted = new URLSearchParams(location.search).get("session") || sessionStorage.getItem(SESSION_KEY);
  if (wanted && /^[0-9a-f]+$/.test(wanted)) attach(wanted);
  showStatus();
})();
