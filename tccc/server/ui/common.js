// Shared by the medic's page and the dashboard: the API token, requests, push streams,
// hold-to-confirm and the themes. Nothing here talks to anything but this server.

const TOKEN_KEY = "tccc.token";
const THEME_KEY = "tccc.theme";

export const $ = (selector, root = document) => root.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// One dialog at a time asks for the token; every request that got 401 waits for it.
let asking = null;

export function askToken(message) {
  if (asking) return asking;
  const dialog = $("#token-dialog");
  const input = $("#token-input", dialog);
  $("#token-message", dialog).textContent =
    message || "This server needs its API token. It is kept for this tab only.";
  input.value = "";
  asking = new Promise((resolve) => {
    const done = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      dialog.close();
      $("#token-form", dialog).removeEventListener("submit", done);
      asking = null;
      resolve(value);
    };
    $("#token-form", dialog).addEventListener("submit", done);
  });
  dialog.showModal();
  input.focus();
  return asking;
}

// fetch with the token; a 401 asks for it (again) and retries.
export async function api(path, options = {}) {
  for (;;) {
    const headers = new Headers(options.headers || {});
    const current = token();
    if (current) headers.set("Authorization", `Bearer ${current}`);
    const response = await fetch(path, { ...options, headers, cache: "no-store" });
    if (response.status !== 401) return response;
    await askToken(current ? "That token was not accepted. Try again." : null);
  }
}

export async function apiJson(path, options = {}) {
  const response = await api(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body?.error?.message || body?.detail || `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

export function wsUrl(path, params = {}) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const current = token();
  // Browsers cannot set headers on a WebSocket: the token goes in the query.
  if (current) url.searchParams.set("token", current);
  return url.toString();
}

// A server-sent event stream read with fetch (so the token goes in a header), reconnecting
// with backoff. Each message is one JSON object. Returns {close(), reconnect()}.
export function eventStream(path, { onEvent, onStatus }) {
  let controller = null;
  let closed = false;
  let wake = null;

  async function once() {
    controller = new AbortController();
    const response = await api(path, {
      signal: controller.signal,
      headers: { Accept: "text/event-stream" },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const error = new Error(body?.error?.message || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    onStatus("open");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = chunk
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        if (data) onEvent(JSON.parse(data));
      }
    }
  }

  (async () => {
    let delay = 500;
    while (!closed) {
      try {
        await once();
        delay = 500;
      } catch (error) {
        if (error.status === 404) {
          onStatus("gone", error);
          return;
        }
        if (!closed) onStatus("retry", error);
      }
      if (closed) break;
      onStatus("retry");
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, delay);
      });
      delay = Math.min(delay * 2, 5000);
    }
  })();

  return {
    close() {
      closed = true;
      controller?.abort();
    },
    // Drop the connection now and make a new one (the first message resyncs everything).
    reconnect() {
      controller?.abort();
      wake?.();
    },
  };
}

// Hold-to-confirm: `onHeld` runs only after the element was held for `ms`; letting go earlier
// cancels. Works with touch, mouse and the keyboard (Space or Enter held).
export function holdToConfirm(node, onHeld, ms = 1200) {
  node.classList.add("hold");
  let started = null;
  let frame = null;
  let timer = null;
  const reset = () => {
    started = null;
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    node.style.setProperty("--p", "0");
  };
  // The fill is drawn frame by frame; the action itself runs on a timer, so it happens even
  // where frames are not drawn (a page in the background).
  const draw = () => {
    if (started === null) return;
    node.style.setProperty("--p", String(Math.min(1, (performance.now() - started) / ms)));
    frame = requestAnimationFrame(draw);
  };
  const begin = (event) => {
    if (node.disabled || started !== null) return;
    event.preventDefault();
    started = performance.now();
    frame = requestAnimationFrame(draw);
    timer = setTimeout(() => {
      reset();
      onHeld();
    }, ms);
  };
  node.addEventListener("pointerdown", begin);
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
    node.addEventListener(name, reset);
  }
  node.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) begin(event);
  });
  node.addEventListener("keyup", reset);
  node.addEventListener("click", (event) => event.preventDefault());
  node.addEventListener("contextmenu", (event) => event.preventDefault());
}

export function initTheme(button) {
  const apply = (theme) => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
    button.textContent = theme === "night" ? "Dark theme" : "Red night";
    document.dispatchEvent(new CustomEvent("themechange"));
  };
  apply(localStorage.getItem(THEME_KEY) || "dark");
  button.addEventListener("click", () =>
    apply(document.documentElement.dataset.theme === "night" ? "dark" : "night"),
  );
}

export function toast(message, ms = 4000) {
  const node = el("div", { class: "toast", role: "status", text: message });
  document.body.append(node);
  setTimeout(() => node.remove(), ms);
}

export function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

export function hms(seconds) {
  const s = Math.floor(Math.abs(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const body = `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return seconds < 0 ? `-${body}` : body;
}

export async function download(path, fallbackName) {
  const response = await api(path);
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body?.error?.message || `HTTP ${response.status}`);
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: match ? match[1] : fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
