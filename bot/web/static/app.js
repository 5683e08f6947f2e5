// Parley web chat. Plain JavaScript, no dependencies, no inline code (the page runs under a
// strict Content-Security-Policy). Server text is only ever inserted with textContent.
"use strict";

(() => {
  const MAX_CHARS = 4000;
  const COUNTER_FROM = 3600; // show the character counter from here on
  const REQUEST_TIMEOUT_MS = 65000;
  const OUTBOX_POLL_MS = 4000; // messages the server sends on its own (codes, links, notices)
  const OUTBOX_TIMEOUT_MS = 15000;
  const SESSION_KEY = "parley.session"; // localStorage: survives reloads and restarts
  const STATE_KEY = "parley.state"; // sessionStorage: this tab's transcript and started jobs
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/; // as the server checks it

  const $ = (id) => document.getElementById(id);
  const transcript = $("transcript");
  const form = $("composer");
  const input = $("input");
  const sendButton = $("send");
  const counter = $("counter");
  const errorLine = $("error");
  const errorText = $("error-text");
  const retryButton = $("retry");
  const newConversation = $("new-conversation");

  // ---- storage (tolerates browsers where storage is disabled) ----------------------------

  const memory = new Map();
  function storage(kind) {
    try {
      const s = window[kind];
      const probe = "parley.probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (_err) {
      return {
        getItem: (k) => (memory.has(kind + k) ? memory.get(kind + k) : null),
        setItem: (k, v) => memory.set(kind + k, String(v)),
        removeItem: (k) => memory.delete(kind + k),
      };
    }
  }
  const local = storage("localStorage");
  const tab = storage("sessionStorage");

  // Each message's id (its idempotency key on the server): a new one per message, the SAME
  // one when "Try again" resends a message whose send failed, so a message that did arrive
  // the first time is recognised and not answered twice.
  function newMessageId() {
    try {
      if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
    } catch (_err) {
      /* not a secure context: fall back below */
    }
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    let id = "m-"; // hex only: the server accepts letters, digits and ":._@+-"
    for (const b of bytes) id += b.toString(16).padStart(2, "0");
    return id;
  }

  function newSessionId() {
    const bytes = new Uint8Array(24); // 24 chars x 6 bits = 144 random bits
    crypto.getRandomValues(bytes);
    let id = "";
    for (const b of bytes) id += ALPHABET[b & 63];
    return id;
  }

  let session = local.getItem(SESSION_KEY);
  if (!session || !/^[A-Za-z0-9_-]{22,64}$/.test(session)) {
    session = newSessionId();
    local.setItem(SESSION_KEY, session);
  }

  function loadState() {
    try {
      const state = JSON.parse(tab.getItem(STATE_KEY) || "null");
      if (state && state.session === session && Array.isArray(state.items)) return state;
    } catch (_err) {
      /* start afresh */
    }
    return { session, started: [], items: [] };
  }
  const state = loadState();
  function saveState() {
    try {
      tab.setItem(STATE_KEY, JSON.stringify(state));
    } catch (_err) {
      /* storage full: the conversation itself lives on the server */
    }
  }

  // ---- rendering -------------------------------------------------------------------------

  const groups = new WeakMap(); // transcript item -> its .buttons element
  const rows = new WeakMap(); // transcript item -> its row element

  function scrollToEnd() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // text only, never parsed as HTML
    return node;
  }

  function renderUser(item) {
    const row = el("div", "row user");
    row.appendChild(el("span", "visually-hidden", "You said: "));
    const bubble = el("div", "msg user", item.text);
    row.appendChild(bubble);
    transcript.appendChild(row);
    rows.set(item, row);
    scrollToEnd();
  }

  // Links to this server (an export download) become clickable; everything else stays text.
  // Built with createElement and textContent: server text is never parsed as HTML.
  const OWN_LINK = /(https?:\/\/[^\s<>"]+)/g;
  function botBubble(text) {
    const bubble = el("div", "msg bot");
    let last = 0;
    for (const match of text.matchAll(OWN_LINK)) {
      const url = match[0].replace(/[.,;:!?)]+$/, "");
      if (!url.startsWith(`${window.location.origin}/`)) continue;
      bubble.appendChild(document.createTextNode(text.slice(last, match.index)));
      const a = el("a", "link", url);
      a.href = url;
      a.rel = "noopener noreferrer";
      bubble.appendChild(a);
      last = match.index + url.length;
    }
    bubble.appendChild(document.createTextNode(text.slice(last)));
    return bubble;
  }

  // A file sent with a reply (a calendar invite): base64 from the server, offered as a
  // download made in the page (Blob + object URL), so it needs no extra request or route.
  function readAttachment(a) {
    if (!a || typeof a !== "object") return null;
    const { filename, mime, data, caption } = a;
    if (typeof filename !== "string" || !FILE_NAME.test(filename)) return null;
    if (typeof mime !== "string" || typeof data !== "string" || !data) return null;
    return { filename, mime, data, caption: typeof caption === "string" ? caption : "" };
  }

  function attachmentBubble(a) {
    let bytes;
    try {
      const binary = atob(a.data);
      bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    } catch (_err) {
      return null; // not base64: show nothing rather than a broken file
    }
    const bubble = el("div", "msg bot attachment");
    if (a.caption) bubble.appendChild(el("span", "attachment-caption", a.caption));
    const link = el("a", "link attachment-link", `Download ${a.filename}`);
    link.href = URL.createObjectURL(new Blob([bytes], { type: a.mime }));
    link.download = a.filename;
    link.rel = "noopener";
    bubble.appendChild(link);
    return bubble;
  }

  function renderBot(item) {
    const row = el("div", "row bot");
    row.appendChild(el("span", "visually-hidden", "Interviewer said: "));
    if (item.text) row.appendChild(botBubble(item.text));
    const file = item.attachment ? attachmentBubble(item.attachment) : null;
    if (file) row.appendChild(file);
    if (item.buttons.length) {
      const group = el("div", "buttons");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Quick replies");
      item.buttons.forEach((button, index) => {
        const b = el("button", "choice", button.title || button.payload);
        b.type = "button";
        b.addEventListener("click", () => choose(item, index));
        group.appendChild(b);
      });
      groups.set(item, group);
      row.appendChild(group);
      setGroupState(item);
    }
    transcript.appendChild(row);
    scrollToEnd();
  }

  function setGroupState(item) {
    const group = groups.get(item);
    if (!group) return;
    group.classList.toggle("used", Boolean(item.used));
    group.querySelectorAll("button").forEach((b, index) => {
      b.disabled = Boolean(item.used);
      const chosen = item.chosen === index;
      b.classList.toggle("chosen", chosen);
      if (chosen) b.setAttribute("aria-pressed", "true");
      else b.removeAttribute("aria-pressed");
    });
  }

  function addItem(item) {
    state.items.push(item);
    if (item.who === "user") renderUser(item);
    else renderBot(item);
    saveState();
    return item;
  }

  function removeItem(item) {
    const i = state.items.indexOf(item);
    if (i >= 0) state.items.splice(i, 1);
    const row = rows.get(item);
    if (row) row.remove();
    saveState();
  }

  let typingRow = null;
  function showTyping() {
    if (typingRow) return;
    typingRow = el("div", "row bot typing-row");
    const bubble = el("div", "typing");
    bubble.appendChild(el("span", "visually-hidden", "The interviewer is typing…"));
    for (let i = 0; i < 3; i += 1) {
      const dot = el("span", "dot");
      dot.setAttribute("aria-hidden", "true");
      bubble.appendChild(dot);
    }
    typingRow.appendChild(bubble);
    transcript.appendChild(typingRow);
    scrollToEnd();
  }
  function hideTyping() {
    if (typingRow) typingRow.remove();
    typingRow = null;
  }

  // ---- errors ----------------------------------------------------------------------------

  let retry = null;
  function showError(message, retryAction) {
    errorText.textContent = message;
    retry = retryAction || null;
    retryButton.hidden = !retry;
    errorLine.hidden = false;
  }
  function hideError() {
    errorLine.hidden = true;
    errorText.textContent = "";
    retry = null;
    retryButton.hidden = true;
  }
  retryButton.addEventListener("click", () => {
    const action = retry;
    hideError();
    if (action) action();
  });

  // ---- sending ---------------------------------------------------------------------------

  let busy = false;
  function setBusy(value) {
    busy = value;
    transcript.setAttribute("aria-busy", value ? "true" : "false");
    updateComposer();
  }

  // The browser's IANA time zone ("Europe/Berlin"): a first guess for booking an interview,
  // which the person confirms. Left out when the browser does not say.
  function timeZone() {
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      return typeof zone === "string" && zone.length <= 64 ? zone : undefined;
    } catch (_err) {
      return undefined;
    }
  }

  async function post(text, id) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch("/api/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ session, text, id, timezone: timeZone() }),
        cache: "no-store",
        credentials: "omit",
        signal: controller.signal,
      });
    } catch (err) {
      throw new Error(
        err && err.name === "AbortError"
          ? "The server took too long to answer. Please try again."
          : "Could not reach the server. Check your connection and try again.",
      );
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_err) {
      data = null;
    }
    if (!response.ok) {
      const message =
        data && typeof data.error === "string" && data.error
          ? data.error
          : `The server answered with an error (${response.status}). Please try again.`;
      throw new Error(message);
    }
    return data && Array.isArray(data.messages) ? data.messages : [];
  }

  // Sends `text` and shows the replies. `shown` is the user's bubble (null: none, e.g. /start).
  // `id` is the message's id. On failure `undo` reverts local changes and "Try again" runs
  // `redo`, the whole action, which passes the same `id` again.
  async function deliver({ text, id, shown = null, onSuccess, undo, redo }) {
    if (busy) return false;
    hideError();
    const userItem = shown === null ? null : addItem({ who: "user", text: shown });
    setBusy(true);
    showTyping();
    try {
      const messages = await post(text, id);
      hideTyping();
      for (const m of messages) {
        if (!m || typeof m !== "object") continue;
        const buttons = Array.isArray(m.buttons)
          ? m.buttons
              .filter((b) => b && typeof b === "object")
              .map((b) => ({ title: String(b.title ?? ""), payload: String(b.payload ?? "") }))
          : [];
        const botText = typeof m.text === "string" ? m.text : "";
        const attachment = readAttachment(m.attachment);
        if (botText || buttons.length || attachment) {
          addItem({ who: "bot", text: botText, buttons, attachment });
        }
      }
      if (onSuccess) onSuccess();
      return true;
    } catch (err) {
      hideTyping();
      if (userItem) removeItem(userItem);
      if (undo) undo();
      showError(err.message, redo);
      return false;
    } finally {
      setBusy(false);
    }
  }

  // Answering (by button or by typing) closes every open choice; returns how to reopen them.
  function closeOpenGroups() {
    const closed = state.items.filter(
      (item) => item.who === "bot" && item.buttons.length && !item.used,
    );
    for (const g of closed) {
      g.used = true;
      setGroupState(g);
    }
    saveState();
    return () => {
      for (const g of closed) {
        g.used = false;
        delete g.chosen;
        setGroupState(g);
      }
      saveState();
    };
  }

  function choose(item, index, id = newMessageId()) {
    if (busy || item.used) return;
    const button = item.buttons[index];
    const reopen = closeOpenGroups();
    item.chosen = index;
    setGroupState(item);
    saveState();
    deliver({
      text: button.payload,
      id,
      shown: button.title || button.payload,
      undo: reopen,
      redo: () => choose(item, index, id),
    });
  }

  function sendTyped(text, id = newMessageId()) {
    if (busy || !text.trim()) return;
    const reopen = closeOpenGroups();
    deliver({ text, id, shown: text, undo: reopen, redo: () => sendTyped(text, id) }).then(() => {
      if (document.activeElement === document.body) input.focus();
    });
  }

  function submitTyped() {
    const text = input.value;
    if (busy || !text.trim()) return;
    input.value = "";
    updateComposer();
    sendTyped(text);
    input.focus();
  }

  function start(job, id = newMessageId()) {
    const startKey = job ? `job:${job}` : "none";
    if (state.started.includes(startKey)) return;
    deliver({
      text: job ? `/start job=${job}` : "/start",
      id,
      onSuccess: () => {
        state.started.push(startKey);
        saveState();
      },
      redo: () => start(job, id),
    });
  }

  // ---- composer --------------------------------------------------------------------------

  function updateComposer() {
    const length = input.value.length;
    sendButton.disabled = busy || !input.value.trim();
    if (length >= COUNTER_FROM) {
      counter.hidden = false;
      counter.textContent = `${length.toLocaleString("en")} / ${MAX_CHARS.toLocaleString("en")}`;
      counter.classList.toggle("at-limit", length >= MAX_CHARS);
    } else {
      counter.hidden = true;
      counter.textContent = "";
    }
    // Grow with the text, up to the CSS max-height, keeping the transcript pinned to its end.
    const atEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    input.style.height = "auto";
    const borders = input.offsetHeight - input.clientHeight;
    input.style.height = `${input.scrollHeight + borders}px`;
    if (atEnd) scrollToEnd();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitTyped();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitTyped();
    }
  });
  input.addEventListener("input", updateComposer);

  newConversation.addEventListener("click", (event) => {
    event.preventDefault();
    local.removeItem(SESSION_KEY);
    tab.removeItem(STATE_KEY);
    window.location.assign(window.location.pathname + window.location.search);
  });

  // ---- messages sent by the server on its own ---------------------------------------------
  // One-time codes, export download links and notice updates do not go through the
  // conversation: the page fetches them while it is open and visible.

  let polling = false;
  async function pollOutbox() {
    if (polling || document.visibilityState === "hidden") return;
    polling = true;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), OUTBOX_TIMEOUT_MS);
    try {
      const response = await fetch(`/api/outbox?session=${encodeURIComponent(session)}`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
        signal: controller.signal,
      });
      if (!response.ok) return;
      const data = await response.json();
      const messages = data && Array.isArray(data.messages) ? data.messages : [];
      for (const m of messages) {
        const text = m && typeof m.text === "string" ? m.text : "";
        if (text) addItem({ who: "bot", text, buttons: [] });
      }
    } catch (_err) {
      /* offline or server restarting: the next poll tries again */
    } finally {
      clearTimeout(timer);
      polling = false;
    }
  }
  setInterval(pollOutbox, OUTBOX_POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") pollOutbox();
  });

  // ---- start -----------------------------------------------------------------------------

  for (const item of state.items) {
    if (item.who === "user") renderUser(item);
    else renderBot(item);
  }
  updateComposer();

  start(new URLSearchParams(window.location.search).get("job"));
  input.focus();
})();
