// The emulator's console page. Plain DOM, no framework, no network beyond the console's own API.
// Every piece of data reaches the page as text (textContent, attribute values); nothing from the
// server is ever parsed as HTML. Updates arrive over one EventSource; each kind of update
// refetches only the part of the page it concerns.
"use strict";

(function () {
  // ---------------------------------------------------------------------------------------------
  // Theme: the system's preference unless the toggle chose one, remembered in localStorage.
  // Applied before the body exists, so the page never flashes the other theme.
  const THEME_KEY = "xdm-console-theme";

  function storedTheme() {
    try {
      const t = localStorage.getItem(THEME_KEY);
      return t === "light" || t === "dark" ? t : null;
    } catch (_) {
      return null;
    }
  }

  function applyTheme(theme) {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
  }

  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function effectiveTheme() {
    return document.documentElement.dataset.theme || (systemDark.matches ? "dark" : "light");
  }

  applyTheme(storedTheme());

  // ---------------------------------------------------------------------------------------------
  // Small helpers.

  const $ = (selector) => document.querySelector(selector);

  /** Builds an element; strings become text nodes, never markup. */
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") e.className = value;
        else if (key === "text") e.textContent = String(value);
        else if (key.startsWith("on") && typeof value === "function") {
          e.addEventListener(key.slice(2), value);
        } else e.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      e.append(child instanceof Node ? child : String(child));
    }
    return e;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** Calls the control API (relative to the page, which lives at /console/). */
  async function api(method, path, body) {
    const init = { method, cache: "no-store", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch("api/" + path, init);
    } catch (e) {
      throw new ApiError(0, "The emulator does not answer (" + e.message + ").");
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!response.ok) {
      const message = data && typeof data.error === "string" ? data.error : response.status + " " + response.statusText;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  /**
   * Wraps a loader so that calls while it runs collapse into one more run after it: a burst of
   * updates costs at most two fetches, and the last one sees the latest state.
   */
  function coalesced(load) {
    let running = null;
    let again = false;
    return function run() {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        try {
          do {
            again = false;
            try {
              await load();
            } catch (e) {
              toast(e.message, true);
            }
          } while (again);
        } finally {
          running = null;
        }
      })();
      return running;
    };
  }

  let toastTimer = null;
  function toast(message, isError) {
    const t = $("#toast");
    t.textContent = message;
    t.classList.toggle("error", !!isError);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      t.hidden = true;
    }, isError ? 6000 : 3000);
  }

  function showFormError(id, message) {
    const p = $(id);
    p.textContent = message || "";
    p.hidden = !message;
  }

  const pad = (n, w = 2) => String(n).padStart(w, "0");

  function clockTime(ms) {
    const d = new Date(ms);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
  }

  const shortDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

  function friendlyTime(ms) {
    const d = new Date(ms);
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return pad(d.getHours()) + ":" + pad(d.getMinutes());
    return shortDate.format(d);
  }

  /** "16:58:02" today, "Dec 1, 16:58" before. */
  function eventTime(ms) {
    const d = new Date(ms);
    if (d.toDateString() === new Date().toDateString()) return clockTime(ms).slice(0, 8);
    return shortDate.format(d) + ", " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function timeEl(ms, iso, text) {
    return el("time", { datetime: iso || new Date(ms).toISOString(), title: fullDate.format(new Date(ms)), text });
  }

  /** "4:59", "1:02:03": a duration in milliseconds, rounded up to the second. */
  function countdown(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function safeHref(candidate) {
    try {
      const url = new URL(candidate);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function prettyBody(text) {
    if (!text) return "";
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // State.

  const state = {
    me: null,
    users: [],
    userById: new Map(),
    as: null,
    conversations: null,
    openId: null,
    thread: null,
    threadShown: 300,
    requests: [],
    lastSeq: null,
    selectedSeq: null,
    limits: null,
    skewMs: 0,
    faults: [],
    activity: null,
    view: "conversations",
  };

  const userLabel = (id) => {
    const u = state.userById.get(id);
    return u ? "@" + u.username : id;
  };

  const serverNow = () => Date.now() + state.skewMs;

  // ---------------------------------------------------------------------------------------------
  // World: users feed every user select.

  async function loadWorld() {
    const world = await api("GET", "world");
    state.me = world.me;
    state.users = world.users;
    state.userById = new Map(world.users.map((u) => [u.id, u]));
    if (!state.as || !state.userById.has(state.as)) state.as = world.me;
    fillUserSelect($("#as-user"), state.as, (u) => (u.id === world.me ? " (me)" : ""));
    const from = $("#composer-from").value;
    fillUserSelect($("#composer-from"), state.userById.has(from) ? from : world.me, (u) => (u.id === world.me ? " (me)" : ""));
    const filterUser = $("#filter-user");
    const chosen = filterUser.value;
    filterUser.replaceChildren(el("option", { value: "", text: "any" }), ...world.users.map((u) => el("option", { value: u.id, text: "@" + u.username })));
    filterUser.value = chosen;
    renderComposerTo();
  }

  function fillUserSelect(select, chosen, suffix) {
    select.replaceChildren(...state.users.map((u) => el("option", { value: u.id, title: u.name, text: "@" + u.username + suffix(u) })));
    select.value = chosen;
  }

  // ---------------------------------------------------------------------------------------------
  // Conversations.

  function conversationTitle(c) {
    const ids = c.participant_ids || [];
    const others = ids.includes(state.as) ? ids.filter((id) => id !== state.as) : ids;
    const names = others.map(userLabel);
    if (c.is_group) return names.length ? names.join(", ") : "Group";
    return names.join(" & ") || c.id;
  }

  function eventSummary(e) {
    if (!e) return "No messages yet";
    if (e.event_type === "ParticipantsJoin") return userLabel(e.sender_id || (e.participant_ids || [])[0]) + " joined";
    if (e.event_type === "ParticipantsLeave") return userLabel(e.sender_id || (e.participant_ids || [])[0]) + " left";
    if (e.deleted) return "Message deleted";
    const who = e.sender_id === state.as ? "You" : userLabel(e.sender_id);
    let text = e.text || "";
    if (!text && e.attachments && e.attachments.media && e.attachments.media.length) text = "[" + e.attachments.media[0].type + "]";
    return who + ": " + text;
  }

  function avatar(label, seed, isGroup) {
    let hash = 0;
    for (const ch of seed) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    const initial = isGroup ? "#" : (label.replace(/^@/, "")[0] || "?").toUpperCase();
    return el("span", { class: "avatar hue-" + (hash % 8), "aria-hidden": "true", text: initial });
  }

  async function loadConversations() {
    const data = await api("GET", "conversations?as=" + encodeURIComponent(state.as || ""));
    state.conversations = data.conversations;
    renderConversations();
  }

  function renderConversations() {
    const list = $("#conversation-list");
    if (!state.conversations) {
      list.replaceChildren(el("li", { class: "empty muted", text: "Loading…" }));
      return;
    }
    if (!state.conversations.length) {
      list.replaceChildren(el("li", { class: "empty muted", text: "No conversation in this world yet." }));
      return;
    }
    list.replaceChildren(
      ...state.conversations.map((c) => {
        const title = conversationTitle(c);
        const last = c.last_event;
        const link = el(
          "a",
          { href: "#/conversations/" + encodeURIComponent(c.id), class: "conv-link", "aria-current": c.id === state.openId ? "page" : null },
          avatar(title, c.id, c.is_group),
          el(
            "span",
            { class: "conv-body" },
            el(
              "span",
              { class: "conv-top" },
              el("span", { class: "conv-title", text: (c.is_group ? "Group · " : "") + title }),
              last ? timeEl(last.created_at_ms, last.created_at, friendlyTime(last.created_at_ms)) : null,
            ),
            el(
              "span",
              { class: "conv-bottom" },
              el("span", { class: "conv-last" + (last && last.deleted ? " deleted" : ""), text: eventSummary(last) }),
              c.unread ? el("span", { class: "badge", title: c.unread + " unread", text: String(c.unread) }) : null,
            ),
          ),
        );
        return el(
          "li",
          {
            class: "conv-item" + (c.id === state.openId ? " active" : "") + (c.unread ? " unread" : ""),
            "data-testid": "conversation-item",
            "data-conversation-id": c.id,
            "data-unread": String(c.unread || 0),
          },
          link,
        );
      }),
    );
    if (state.openId) renderThreadHead();
  }

  async function loadThread() {
    const id = state.openId;
    if (!id) {
      state.thread = null;
      renderThread();
      return;
    }
    let data;
    try {
      data = await api("GET", "conversations/" + encodeURIComponent(id) + "/events");
    } catch (e) {
      if (e.status === 404) {
        state.thread = { id, missing: true, events: [] };
        renderThread();
        return;
      }
      throw e;
    }
    if (state.openId !== id) return;
    state.thread = data;
    renderThread();
  }

  function renderThreadHead() {
    const t = state.thread;
    const c = (state.conversations || []).find((x) => x.id === state.openId);
    const title = $("#thread-title");
    const sub = $("#thread-sub");
    const open = !!state.openId;
    $("#mark-read").disabled = !open;
    $("#show-typing").disabled = !open;
    $("#view-conversations").classList.toggle("has-open", open);
    if (!open) {
      title.textContent = "No conversation open";
      sub.textContent = "Pick one on the left, or send a message below to start one.";
      return;
    }
    if (t && t.missing) {
      title.textContent = "Unknown conversation";
      sub.textContent = "The emulator knows no conversation " + state.openId + ".";
      return;
    }
    const source = t || c;
    if (!source) return;
    title.textContent = (source.is_group ? "Group · " : "") + conversationTitle(source);
    const people = (source.participant_ids || []).map(userLabel).join(", ");
    const count = t ? t.events.length : c ? c.event_count : 0;
    sub.textContent = people + " · " + count + (count === 1 ? " event" : " events") + " · id " + state.openId;
  }

  function richText(text, entities) {
    const chars = Array.from(text);
    const spans = [];
    const add = (list, kind) => {
      for (const e of list || []) {
        if (Number.isInteger(e.start) && Number.isInteger(e.end) && e.start < e.end && e.end <= chars.length) spans.push({ kind, e });
      }
    };
    if (entities) {
      add(entities.urls, "url");
      add(entities.mentions, "mention");
      add(entities.hashtags, "hashtag");
      add(entities.cashtags, "cashtag");
    }
    spans.sort((a, b) => a.e.start - b.e.start);
    const out = el("p", { class: "text" });
    let pos = 0;
    for (const { kind, e } of spans) {
      if (e.start < pos) continue; // overlapping entities: the first one wins
      out.append(chars.slice(pos, e.start).join(""));
      const shown = chars.slice(e.start, e.end).join("");
      if (kind === "url") {
        const href = safeHref(e.expanded_url || e.url || shown);
        out.append(
          href
            ? el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", title: href, text: e.display_url || shown })
            : el("span", { class: "entity", text: shown }),
        );
      } else {
        const title = kind === "mention" && e.id && state.userById.has(e.id) ? state.userById.get(e.id).name : null;
        out.append(el("span", { class: "entity " + kind, title, text: shown }));
      }
      pos = e.end;
    }
    out.append(chars.slice(pos).join(""));
    return out;
  }

  function mediaEl(m) {
    const src = "api/media/" + encodeURIComponent(m.media_key);
    if (m.type === "video") return el("video", { src, controls: true, preload: "metadata", class: "media" });
    if (m.type === "animated_gif") return el("video", { src, autoplay: true, loop: true, muted: true, playsinline: true, class: "media" });
    const img = el("img", { src, alt: "Photo " + m.media_key, loading: "lazy", class: "media" });
    // Media whose bytes no browser can draw (the seeded worlds hold stand-ins) get a labelled box.
    img.addEventListener("error", () => img.replaceWith(el("span", { class: "media missing", text: "photo " + m.media_key + " (cannot be shown)" })), { once: true });
    return el("a", { href: src, target: "_blank", rel: "noopener", class: "media-link" }, img);
  }

  function threadEvent(e) {
    const attrs = { "data-testid": "thread-event", "data-event-id": e.id, "data-event-type": e.event_type };
    if (e.event_type !== "MessageCreate") {
      const who = (e.participant_ids && e.participant_ids.length ? e.participant_ids : [e.sender_id]).filter(Boolean).map(userLabel).join(", ");
      const verb = e.event_type === "ParticipantsJoin" ? " joined" : e.event_type === "ParticipantsLeave" ? " left" : " · " + e.event_type;
      return el("li", Object.assign({ class: "system" }, attrs), el("span", { text: who + verb + " · " }), timeEl(e.created_at_ms, e.created_at, friendlyTime(e.created_at_ms)));
    }
    const mine = e.sender_id === state.as;
    const classes = ["message", mine ? "mine" : "theirs"];
    if (e.deleted) classes.push("deleted");
    const bubble = el("div", { class: "bubble" });
    if (e.text) bubble.append(richText(e.text, e.entities));
    const media = (e.attachments && e.attachments.media) || [];
    if (media.length) bubble.append(el("div", { class: "attachments" }, media.map(mediaEl)));
    if (!e.text && !media.length) bubble.append(el("p", { class: "text muted", text: "(empty)" }));
    const notes = [];
    if (e.deleted) notes.push(el("span", { class: "tag danger", text: "deleted by sender" }));
    const hiddenFor = (e.deleted_by || []).filter((id) => id !== e.sender_id);
    if (hiddenFor.length) notes.push(el("span", { class: "tag", text: "deleted for " + hiddenFor.map(userLabel).join(", ") }));
    return el(
      "li",
      Object.assign({ class: classes.join(" ") }, attrs),
      el("div", { class: "meta" }, el("span", { class: "sender", text: userLabel(e.sender_id) }), timeEl(e.created_at_ms, e.created_at, eventTime(e.created_at_ms)), notes),
      bubble,
    );
  }

  function renderThread() {
    const list = $("#thread");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const t = state.thread;
    if (!state.openId || !t) {
      list.replaceChildren(el("li", { class: "empty muted", text: state.openId ? "Loading…" : "No conversation open." }));
    } else if (t.missing) {
      list.replaceChildren(el("li", { class: "empty muted", text: "This conversation does not exist." }));
    } else if (!t.events.length) {
      list.replaceChildren(el("li", { class: "empty muted", text: "No events yet." }));
    } else {
      const previousLast = list.dataset.lastEventId;
      // A long history renders its latest part; the rest is one press away.
      const hidden = Math.max(0, t.events.length - state.threadShown);
      const more = hidden
        ? el("li", { class: "more" }, el("button", { type: "button", class: "btn ghost small", text: "Show " + Math.min(hidden, THREAD_PAGE) + " earlier of " + hidden, onclick: showEarlier }))
        : null;
      list.replaceChildren(...[more].filter(Boolean), ...t.events.slice(hidden).map(threadEvent));
      const last = t.events[t.events.length - 1].id;
      if (atBottom || previousLast !== last || list.dataset.openId !== state.openId) list.scrollTop = list.scrollHeight;
      list.dataset.lastEventId = last;
      list.dataset.openId = state.openId;
    }
    renderThreadHead();
    renderComposerTo();
  }

  const THREAD_PAGE = 300;

  function showEarlier() {
    const list = $("#thread");
    const fromBottom = list.scrollHeight - list.scrollTop;
    state.threadShown += THREAD_PAGE;
    renderThread();
    list.scrollTop = list.scrollHeight - fromBottom; // keep the reader's place
  }

  // ---------------------------------------------------------------------------------------------
  // Composer.

  function renderComposerTo() {
    const to = $("#composer-to");
    const from = $("#composer-from").value;
    const previous = to.value;
    const options = [];
    const c = state.openId && state.thread && !state.thread.missing ? state.thread : null;
    if (c) {
      options.push(el("optgroup", { label: "Open conversation" }, el("option", { value: "conversation:" + state.openId, text: "This conversation (" + (c.is_group ? "group · " : "") + conversationTitle(c) + ")" })));
    }
    const users = state.users.filter((u) => u.id !== from);
    options.push(el("optgroup", { label: "One-to-one with" }, users.map((u) => el("option", { value: "user:" + u.id, text: "@" + u.username + (u.id === state.me ? " (me)" : "") }))));
    to.replaceChildren(...options);
    // A conversation that just opened becomes the default recipient; otherwise the choice stays.
    const offered = c ? state.openId : null;
    if (offered && offered !== offeredConversation) to.value = "conversation:" + offered;
    else if ([...to.options].some((o) => o.value === previous)) to.value = previous;
    offeredConversation = offered;
  }
  let offeredConversation = null;

  function fileBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
      reader.onerror = () => reject(new Error("Could not read " + file.name + "."));
      reader.readAsDataURL(file);
    });
  }

  async function mediaOf(input) {
    const file = input.files && input.files[0];
    if (!file) return undefined;
    return { content_type: file.type || "application/octet-stream", data_base64: await fileBase64(file), filename: file.name };
  }

  async function send(event) {
    event.preventDefault();
    showFormError("#composer-error", "");
    const from = $("#composer-from").value;
    const to = $("#composer-to").value;
    const text = $("#composer-text").value;
    const fileInput = $("#composer-file");
    if (!text.trim() && !(fileInput.files && fileInput.files.length)) {
      showFormError("#composer-error", "Write a message or attach a file.");
      return;
    }
    const button = $("#composer-send");
    button.disabled = true;
    try {
      const body = { from, text };
      if (to.startsWith("conversation:")) body.conversation_id = to.slice("conversation:".length);
      else body.to = to.slice("user:".length);
      const media = await mediaOf(fileInput);
      if (media) body.media = media;
      const sent = await api("POST", "messages", body);
      $("#composer-text").value = "";
      fileInput.value = "";
      if (sent.conversation_id !== state.openId) location.hash = "#/conversations/" + encodeURIComponent(sent.conversation_id);
      else refreshThread();
    } catch (e) {
      showFormError("#composer-error", e.message);
    } finally {
      button.disabled = false;
    }
  }

  async function markRead() {
    if (!state.openId) return;
    try {
      await api("POST", "read", { user: state.as, conversation_id: state.openId });
      toast("Marked read for " + userLabel(state.as) + ".");
      refreshConversations();
    } catch (e) {
      toast(e.message, true);
    }
  }

  async function showTypingAsSender() {
    if (!state.openId) return;
    const user = $("#composer-from").value;
    try {
      await api("POST", "typing", { user, conversation_id: state.openId });
      toast(userLabel(user) + " is shown typing.");
    } catch (e) {
      toast(e.message, true);
    }
  }

  function openGroupDialog() {
    const from = $("#composer-from").value;
    $("#group-from").textContent = userLabel(from);
    $("#group-members").replaceChildren(
      ...state.users
        .filter((u) => u.id !== from)
        .map((u) => el("label", { class: "check" }, el("input", { type: "checkbox", value: u.id }), " @" + u.username)),
    );
    $("#group-text").value = $("#composer-text").value;
    showFormError("#group-error", "");
    $("#group-dialog").showModal();
  }

  async function createGroup(event) {
    event.preventDefault();
    const participant_ids = [...document.querySelectorAll("#group-members input:checked")].map((i) => i.value);
    if (participant_ids.length < 2) {
      showFormError("#group-error", "Pick at least two participants besides the sender.");
      return;
    }
    const body = { from: $("#composer-from").value, participant_ids, text: $("#group-text").value };
    const media = await mediaOf($("#composer-file"));
    if (media) body.media = media;
    try {
      const created = await api("POST", "groups", body);
      $("#group-dialog").close();
      $("#composer-text").value = "";
      $("#composer-file").value = "";
      location.hash = "#/conversations/" + encodeURIComponent(created.conversation_id);
      refreshConversations();
    } catch (e) {
      showFormError("#group-error", e.message);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Request log.

  const CREDENTIAL = { oauth1: "OAuth 1.0a", oauth2_user: "OAuth 2.0 user", app_bearer: "App bearer", none: "none", rejected: "rejected" };

  function statusClass(status) {
    if (status === null || status === undefined) return "closed";
    if (status === 429) return "s429";
    return "s" + String(status)[0] + "xx";
  }

  function requestQuery(after) {
    const params = new URLSearchParams();
    const status = $("#filter-status").value;
    const endpoint = $("#filter-endpoint").value.trim();
    const user = $("#filter-user").value;
    if (status) params.set("status", status);
    if (endpoint) params.set("endpoint", endpoint);
    if (user) params.set("user", user);
    if (after !== null && after !== undefined) params.set("after", String(after));
    params.set("limit", "1000");
    return "requests?" + params.toString();
  }

  let requestsNeedFull = true;
  const MAX_ROWS = 2000;

  async function loadRequests() {
    const full = requestsNeedFull;
    requestsNeedFull = false;
    const data = await api("GET", requestQuery(full ? null : state.lastSeq));
    const incoming = data.requests || [];
    if (full) {
      state.requests = incoming;
    } else {
      const bySeq = new Map(state.requests.map((r, i) => [r.seq, i]));
      for (const r of incoming) {
        if (bySeq.has(r.seq)) state.requests[bySeq.get(r.seq)] = r;
        else state.requests.push(r);
      }
    }
    if (state.requests.length > MAX_ROWS) state.requests.splice(0, state.requests.length - MAX_ROWS);
    for (const r of incoming) if (state.lastSeq === null || r.seq > state.lastSeq) state.lastSeq = r.seq;
    if (full) renderRequests();
    else appendRequests(incoming);
    // A request that met a fault used one of the armed ones up: their counts changed.
    if (!full && incoming.some((r) => r.fault)) refreshFaults();
  }

  function requestRow(r) {
    const remaining = r.rate_limit ? r.rate_limit.remaining + "/" + r.rate_limit.limit : "";
    const cred = r.credential || { kind: "none" };
    const target = r.path + (r.query ? "?" + r.query : "");
    const link = el("a", { href: "#/requests/" + r.seq, class: "path", title: target, text: target });
    return el(
      "tr",
      {
        "data-testid": "request-row",
        "data-seq": String(r.seq),
        "data-status": r.status === null || r.status === undefined ? "closed" : String(r.status),
        class: "row " + statusClass(r.status) + (String(r.seq) === state.selectedSeq ? " selected" : ""),
      },
      el("td", { class: "mono nowrap" }, el("time", { datetime: r.time, title: fullDate.format(new Date(r.time_ms)) }, clockTime(r.time_ms).slice(0, 8), el("span", { class: "ms", text: clockTime(r.time_ms).slice(8) }))),
      el("td", {}, el("span", { class: "method m-" + String(r.method).toLowerCase(), text: r.method })),
      el("td", {}, el("div", { class: "path-cell" }, link, r.fault ? el("span", { class: "tag warn", text: "fault: " + r.fault }) : null)),
      el("td", { class: "num" }, el("span", { class: "status " + statusClass(r.status), text: r.status === null || r.status === undefined ? "closed" : String(r.status) })),
      el("td", { class: "num mono nowrap", text: typeof r.latency_ms === "number" ? r.latency_ms.toFixed(1) + " ms" : "" }),
      el("td", { class: "nowrap" }, el("span", { text: CREDENTIAL[cred.kind] || cred.kind }), cred.user_id ? el("span", { class: "muted", text: " " + userLabel(cred.user_id) }) : null),
      el("td", { class: "num mono", text: remaining }),
    );
  }

  function renderRequests() {
    const rows = state.requests.slice().reverse().map(requestRow);
    $("#request-list").replaceChildren(...rows);
    requestCountChanged();
  }

  function appendRequests(incoming) {
    const body = $("#request-list");
    for (const r of incoming) {
      const existing = body.querySelector('tr[data-seq="' + r.seq + '"]');
      const row = requestRow(r);
      if (existing) existing.replaceWith(row);
      else body.prepend(row);
    }
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
    requestCountChanged();
  }

  function requestCountChanged() {
    const n = state.requests.length;
    $("#request-count").textContent = n ? String(n) : "";
    $("#request-empty").hidden = n > 0;
  }

  async function loadRequestDetail() {
    const seq = state.selectedSeq;
    const box = $("#request-detail");
    for (const row of document.querySelectorAll("#request-list tr.selected")) row.classList.remove("selected");
    if (seq === null) {
      box.hidden = true;
      box.replaceChildren();
      $("#view-requests").classList.remove("has-detail");
      return;
    }
    const row = document.querySelector('#request-list tr[data-seq="' + CSS.escape(seq) + '"]');
    if (row) row.classList.add("selected");
    let r;
    try {
      r = await api("GET", "requests/" + encodeURIComponent(seq));
    } catch (e) {
      if (state.selectedSeq !== seq) return;
      box.replaceChildren(detailHead("Request " + seq), el("p", { class: "muted", text: e.message }));
      box.hidden = false;
      $("#view-requests").classList.add("has-detail");
      return;
    }
    if (state.selectedSeq !== seq) return;
    box.replaceChildren(...requestDetail(r));
    box.hidden = false;
    $("#view-requests").classList.add("has-detail");
  }

  function detailHead(title) {
    return el("div", { class: "detail-head" }, el("h2", { text: title }), el("a", { href: "#/requests", class: "btn ghost small", "aria-label": "Close the detail", text: "Close" }));
  }

  function headersTable(headers) {
    if (!headers || !headers.length) return el("p", { class: "muted small", text: "none" });
    const cell = (name, value) => {
      // X's reset is epoch seconds: say when that is.
      const seconds = /^x-rate-limit-reset$/i.test(name) && /^\d{9,11}$/.test(value) ? Number(value) : null;
      return el("td", {}, value, seconds ? el("span", { class: "muted", text: "  (" + clockTime(seconds * 1000).slice(0, 8) + ")" }) : null);
    };
    return el("table", { class: "headers" }, el("tbody", {}, headers.map(([name, value]) => el("tr", {}, el("th", { scope: "row", text: name }), cell(name, value)))));
  }

  function bodyBlock(text, truncated) {
    if (!text) return el("p", { class: "muted small", text: "empty" });
    return el("div", {}, el("pre", { class: "body", tabindex: "0", text: prettyBody(text) }), truncated ? el("p", { class: "muted small", text: "Cut at 64 KiB." }) : null);
  }

  function requestDetail(r) {
    const cred = r.credential || { kind: "none" };
    const facts = [
      ["Time", fullDate.format(new Date(r.time_ms)) + " (" + clockTime(r.time_ms) + ")"],
      ["Endpoint", r.template || "unknown"],
      ["Status", r.status === null || r.status === undefined ? "connection closed without an answer" : String(r.status)],
      ["Latency", typeof r.latency_ms === "number" ? r.latency_ms.toFixed(1) + " ms" : "?"],
      ["Credential", (CREDENTIAL[cred.kind] || cred.kind) + (cred.user_id ? " · " + userLabel(cred.user_id) + " (" + cred.user_id + ")" : "")],
      ["Rate limit", r.rate_limit ? r.rate_limit.remaining + " of " + r.rate_limit.limit + " left, resets " + fullDate.format(new Date(r.rate_limit.reset * 1000)) : "no headers"],
    ];
    if (r.fault) facts.push(["Fault", r.fault]);
    return [
      detailHead("#" + r.seq + " " + r.method + " " + r.path),
      r.query ? el("p", { class: "mono small query", text: "?" + r.query }) : null,
      el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
      el("h3", { text: "Request headers" }),
      headersTable(r.request_headers),
      el("h3", { text: "Request body" }),
      bodyBlock(r.request_body, r.request_body_truncated),
      el("h3", { text: "Response headers" }),
      headersTable(r.response_headers),
      el("h3", { text: "Response body" }),
      bodyBlock(r.response_body, r.response_body_truncated),
    ].filter(Boolean);
  }

  async function clearLog() {
    try {
      await api("DELETE", "requests");
      state.requests = [];
      renderRequests();
      if (state.selectedSeq !== null) location.hash = "#/requests";
    } catch (e) {
      toast(e.message, true);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Limits, faults and real-time deliveries.

  const GROUPS = {
    read: "Read DMs",
    send: "Send DMs",
    delete: "Delete DMs",
    block: "Block / unblock",
    users_me: "GET /2/users/me",
    subscription_create: "Subscribe",
    subscription_list: "Subscriptions",
    subscription_update: "Update subs",
    subscription_delete: "Unsubscribe",
    webhook_create: "Add webhook",
    webhook_list: "Webhooks",
    webhook_update: "Revalidate",
    webhook_delete: "Delete webhook",
    webhook_replay: "Replay",
    stream_connect: "Stream connect",
  };

  async function loadLimits() {
    const data = await api("GET", "limits");
    state.skewMs = data.now_ms - Date.now();
    state.limits = data;
    renderLimits();
  }

  function gauge(userId, g) {
    const now = serverNow();
    const held = g.held_until_ms && g.held_until_ms > now;
    const remaining = held ? 0 : g.remaining;
    const ratio = g.limit > 0 ? Math.max(0, Math.min(1, remaining / g.limit)) : 0;
    const fill = el("span", { class: "fill" });
    fill.style.width = (ratio * 100).toFixed(1) + "%"; // CSSOM, which the page's CSP allows
    const level = remaining === 0 ? "empty" : ratio < 0.34 ? "low" : "ok";
    const lines = [];
    if (held) lines.push(el("span", { class: "tag danger" }, "429 held · ", el("span", { "data-countdown-ms": String(g.held_until_ms), text: countdown(g.held_until_ms - now) })));
    if (g.reset_ms) lines.push(el("span", { class: "muted" }, "resets in ", el("span", { class: "mono", "data-countdown-ms": String(g.reset_ms), text: countdown(g.reset_ms - now) })));
    else lines.push(el("span", { class: "muted", text: "window not started" }));
    if (g.day_limit !== null && g.day_limit !== undefined) {
      lines.push(
        el(
          "span",
          { class: "muted" },
          "day " + g.day_remaining + "/" + g.day_limit,
          g.day_reset_ms ? el("span", {}, " · ", el("span", { class: "mono", "data-countdown-ms": String(g.day_reset_ms), text: countdown(g.day_reset_ms - now) })) : null,
        ),
      );
    }
    return el(
      "div",
      { class: "gauge " + level, "data-testid": "limit-gauge", "data-user-id": userId, "data-group": g.group, "data-remaining": String(remaining) },
      el("div", { class: "gauge-top" }, el("span", { class: "gauge-name", title: g.group, text: GROUPS[g.group] || g.group }), el("span", { class: "gauge-num mono", text: remaining + " / " + g.limit })),
      el("div", { class: "bar", role: "meter", "aria-label": (GROUPS[g.group] || g.group) + " remaining", "aria-valuemin": "0", "aria-valuemax": String(g.limit), "aria-valuenow": String(remaining) }, fill),
      el("div", { class: "gauge-foot small" }, lines),
    );
  }

  function renderLimits() {
    const data = state.limits;
    const box = $("#limits-view");
    if (!data) return;
    const minutes = (s) => (s % 3600 === 0 ? s / 3600 + " h" : s % 60 === 0 ? s / 60 + " min" : s + " s");
    $("#limits-sub").textContent = data.enabled
      ? "Windows of " + minutes(data.window_seconds) + (data.day_seconds ? ", day windows of " + minutes(data.day_seconds) : "") + ". Counted per user and endpoint group, as X does."
      : "Rate limits are off in this emulator (--no-rate-limits); the counts below are informational.";
    const blocks = data.users.map((u) =>
      el(
        "section",
        { class: "user-limits", "aria-label": "Windows of @" + u.username },
        el("h3", {}, "@" + u.username, u.user_id === state.me ? el("span", { class: "muted", text: " (me)" }) : null),
        el("div", { class: "gauge-grid" }, u.groups.map((g) => gauge(u.user_id, g))),
      ),
    );
    if (data.app && data.app.length) {
      blocks.push(el("section", { class: "user-limits", "aria-label": "App windows" }, el("h3", { text: "App (bearer token)" }), el("div", { class: "gauge-grid" }, data.app.map((g) => gauge("app", g)))));
    }
    box.replaceChildren(...(blocks.length ? blocks : [el("p", { class: "muted", text: "No window spent yet." })]));
  }

  /** The 1 s timer only rewrites countdown text; it never calls the API on its own. */
  let resetRefreshAt = 0;
  function tick() {
    const now = serverNow();
    let passed = false;
    for (const span of document.querySelectorAll("[data-countdown-ms]")) {
      const at = Number(span.dataset.countdownMs);
      span.textContent = countdown(at - now);
      if (at <= now && at > resetRefreshAt) {
        passed = true;
        resetRefreshAt = at;
      }
    }
    // A window that just reset changes what the gauges show: fetch them once for it.
    if (passed) refreshLimits();
  }

  const TEMPLATES = [
    ["Any endpoint", [["*", "* (any endpoint)"]]],
    [
      "DM events",
      [
        "/2/dm_events",
        "/2/dm_events/{event_id}",
        "/2/dm_conversations/with/{participant_id}/dm_events",
        "/2/dm_conversations/{id}/dm_events",
      ],
    ],
    ["Sending", ["/2/dm_conversations/with/{participant_id}/messages", "/2/dm_conversations/{dm_conversation_id}/messages", "/2/dm_conversations"]],
    ["Blocks and users", ["/2/users/{id}/dm/block", "/2/users/{id}/dm/unblock", "/2/users/me"]],
    [
      "Media",
      [
        "/2/media/upload",
        "/2/media/upload/initialize",
        "/2/media/upload/{id}/append",
        "/2/media/upload/{id}/finalize",
        "/2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}",
      ],
    ],
    ["Activity API", ["/2/activity/stream", "/2/activity/subscriptions", "/2/activity/subscriptions/{subscription_id}", "/2/webhooks", "/2/webhooks/{webhook_id}", "/2/webhooks/replay"]],
    ["OAuth 2.0", ["/2/oauth2/token", "/2/oauth2/revoke"]],
  ];

  function fillTemplates() {
    $("#fault-path").replaceChildren(
      ...TEMPLATES.map(([label, items]) =>
        el(
          "optgroup",
          { label },
          items.map((item) => (Array.isArray(item) ? el("option", { value: item[0], text: item[1] }) : el("option", { value: item, text: item }))),
        ),
      ),
    );
    $("#fault-path").value = "/2/dm_events";
  }

  function syncFaultKind() {
    const kind = $("#fault-kind").value;
    for (const field of document.querySelectorAll("[data-for-kind]")) field.hidden = field.dataset.forKind !== kind;
  }

  const FAULT_LABEL = { rate_limited: "429 rate limited", status: "error status", drop: "dropped connection", slow: "slow answer", partial_errors: "200 with partial errors" };

  async function loadFaults() {
    const data = await api("GET", "faults");
    state.faults = data.faults || [];
    const list = $("#fault-list");
    if (!state.faults.length) {
      list.replaceChildren(el("li", { class: "muted small", text: "None armed: every call is answered normally." }));
    } else {
      list.replaceChildren(
        ...state.faults.map((f) =>
          el(
            "li",
            { class: "fault", "data-fault-id": String(f.id) },
            el(
              "span",
              { class: "fault-text" },
              el("span", { class: "tag warn", text: FAULT_LABEL[f.kind] || f.kind }),
              " ",
              el("span", { class: "mono", text: (f.method === "*" ? "any" : f.method) + " " + f.path }),
              el("span", { class: "muted", text: f.remaining === null || f.remaining === undefined ? " · until removed" : " · next " + f.remaining + (f.remaining === 1 ? " call" : " calls") }),
            ),
            el("button", { type: "button", class: "btn ghost small", "aria-label": "Remove fault " + f.id, text: "Remove", onclick: () => removeFault(f.id) }),
          ),
        ),
      );
    }
    $("#fault-clear").hidden = !state.faults.length;
  }

  async function removeFault(id) {
    try {
      await api("DELETE", "faults/" + encodeURIComponent(id));
    } catch (e) {
      toast(e.message, true);
    }
    refreshFaults();
  }

  async function clearFaults() {
    try {
      await api("DELETE", "faults");
    } catch (e) {
      toast(e.message, true);
    }
    refreshFaults();
  }

  async function armFault(event) {
    event.preventDefault();
    showFormError("#fault-error", "");
    const kind = $("#fault-kind").value;
    const body = { method: $("#fault-method").value, path: $("#fault-path").value, kind, count: Number($("#fault-count").value) };
    if (kind === "rate_limited") body.reset_seconds = Number($("#fault-reset").value);
    if (kind === "status") body.status = Number($("#fault-status").value);
    if (kind === "slow") body.delay_ms = Number($("#fault-delay").value);
    const button = $("#fault-submit");
    button.disabled = true;
    try {
      // The armed list below is the confirmation.
      await api("POST", "faults", body);
      refreshFaults();
    } catch (e) {
      showFormError("#fault-error", e.message);
    } finally {
      button.disabled = false;
    }
  }

  async function dropStream() {
    try {
      const r = await api("POST", "stream/drop");
      $("#rt-result").textContent = "Dropped " + r.dropped + (r.dropped === 1 ? " stream connection." : " stream connections.");
      refreshActivity();
    } catch (e) {
      toast(e.message, true);
    }
  }

  async function failWebhooks() {
    const count = Number($("#webhooks-fail-count").value) || 1;
    try {
      await api("POST", "webhooks/fail", { count });
      $("#rt-result").textContent = "The next " + count + (count === 1 ? " webhook delivery fails." : " webhook deliveries fail.");
    } catch (e) {
      toast(e.message, true);
    }
  }

  function describeSubscription(s) {
    if (s && typeof s === "object") {
      const type = s.event_type || s.type;
      const user = s.filter && s.filter.user_id;
      if (type) return type + (user ? " for " + userLabel(user) : "") + (s.tag ? " · " + s.tag : "");
    }
    return JSON.stringify(s);
  }

  async function loadActivity() {
    const data = await api("GET", "activity");
    state.activity = data;
    const streams = data.stream_connections || [];
    $("#stream-list").replaceChildren(
      ...(streams.length
        ? streams.map((s) =>
            el("li", {}, el("span", { class: "dot ok", "aria-hidden": "true" }), "connection " + s.id + " · open since ", timeEl(s.opened_ms, null, clockTime(s.opened_ms).slice(0, 8)), " · " + s.events_sent + (s.events_sent === 1 ? " event sent" : " events sent")),
          )
        : [el("li", { class: "muted small", text: "No stream connection open." })]),
    );
    const subs = data.subscriptions || [];
    $("#subscription-list").replaceChildren(...(subs.length ? subs.map((s) => el("li", { class: "small", text: describeSubscription(s) })) : [el("li", { class: "muted small", text: "No subscription." })]));
    const hooks = data.webhooks || [];
    $("#webhook-list").replaceChildren(
      ...(hooks.length
        ? hooks.map((w) =>
            el(
              "div",
              { class: "webhook" },
              el("p", {}, el("span", { class: "tag " + (w.valid ? "ok" : "danger"), text: w.valid ? "valid" : "invalid" }), " ", el("span", { class: "mono small", text: w.url })),
              w.deliveries && w.deliveries.length
                ? el(
                    "table",
                    { class: "deliveries" },
                    el("thead", {}, el("tr", {}, el("th", { text: "Time" }), el("th", { text: "Status" }), el("th", { text: "Attempt" }), el("th", { text: "Events" }))),
                    el(
                      "tbody",
                      {},
                      w.deliveries
                        .slice(-20)
                        .reverse()
                        .map((d) =>
                          el(
                            "tr",
                            {},
                            el("td", { class: "mono" }, timeEl(d.time_ms, null, clockTime(d.time_ms))),
                            el("td", {}, el("span", { class: "status " + statusClass(d.status), text: d.status === null || d.status === undefined ? "no answer" : String(d.status) })),
                            el("td", { class: "num", text: String(d.attempt) }),
                            el("td", { class: "num", text: d.event_ids ? String(d.event_ids.length) : "" }),
                          ),
                        ),
                    ),
                  )
                : el("p", { class: "muted small", text: "No delivery yet." }),
            ),
          )
        : [el("p", { class: "muted small", text: "No webhook registered." })]),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Copy credentials: fetched on the click only, handed to the clipboard, never put in the DOM.

  function copyThroughEvent(text) {
    let copied = false;
    const handler = (event) => {
      event.clipboardData.setData("text/plain", text);
      event.preventDefault();
      copied = true;
    };
    document.addEventListener("copy", handler);
    try {
      document.execCommand("copy");
    } finally {
      document.removeEventListener("copy", handler);
    }
    return copied;
  }

  async function copyCredentials() {
    let text;
    try {
      text = JSON.stringify(await api("GET", "credentials"), null, 2);
    } catch (e) {
      toast(e.message, true);
      return;
    }
    try {
      await navigator.clipboard.writeText(text);
      toast("Credentials copied to the clipboard.");
    } catch (_) {
      if (copyThroughEvent(text)) toast("Credentials copied to the clipboard.");
      else toast("The browser refused the clipboard; the credentials are also printed by the emulator on start.", true);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Loaders, coalesced, and the live updates that call them.

  const refreshConversations = coalesced(loadConversations);
  const refreshThread = coalesced(loadThread);
  const refreshRequests = coalesced(loadRequests);
  const refreshRequestDetail = coalesced(loadRequestDetail);
  const refreshLimits = coalesced(loadLimits);
  const refreshFaults = coalesced(loadFaults);
  const refreshActivity = coalesced(loadActivity);

  function refreshAll(withWorld) {
    requestsNeedFull = true;
    const world = withWorld === false ? Promise.resolve() : loadWorld();
    return Promise.all([
      world.then(() => Promise.all([refreshConversations(), refreshThread()])),
      refreshRequests(),
      refreshLimits(),
      refreshFaults(),
      refreshActivity(),
    ]).catch((e) => toast(e.message, true));
  }

  function setLive(text, stateName) {
    const s = $("#live-status");
    s.textContent = text;
    s.dataset.state = stateName;
  }

  function parseData(event) {
    try {
      return JSON.parse(event.data || "{}") || {};
    } catch (_) {
      return {};
    }
  }

  // X's typing indicator lasts a few seconds unless renewed; the line does the same.
  let typingTimer = null;
  function showTyping(userId) {
    const line = $("#typing-line");
    line.textContent = userLabel(userId) + " is typing…";
    line.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 5000);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    $("#typing-line").hidden = true;
  }

  function connectUpdates() {
    const source = new EventSource("api/updates");
    let opened = false;
    source.addEventListener("open", () => {
      setLive("live", "live");
      // Anything that changed while the stream was down (or before it first opened) is fetched.
      if (opened) refreshAll();
      opened = true;
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) setLive("offline", "offline");
      else setLive("reconnecting", "connecting");
    });
    source.addEventListener("conversation", (event) => {
      const d = parseData(event);
      refreshConversations();
      if (d.conversation_id && d.conversation_id === state.openId) {
        // A message from the typist ends its indicator, as in X's own clients.
        if (d.event_id) hideTyping();
        refreshThread();
      }
    });
    source.addEventListener("typing", (event) => {
      const d = parseData(event);
      if (d.conversation_id && d.conversation_id === state.openId && d.user_id) showTyping(d.user_id);
    });
    source.addEventListener("request", () => refreshRequests());
    source.addEventListener("limits", () => refreshLimits());
    source.addEventListener("faults", () => refreshFaults());
    source.addEventListener("activity", () => refreshActivity());
    source.addEventListener("resync", () => refreshAll());
  }

  // ---------------------------------------------------------------------------------------------
  // Routes: #/conversations[/<id>], #/requests[/<seq>], #/limits.

  const VIEWS = ["conversations", "requests", "limits"];

  function route() {
    const parts = (location.hash || "").replace(/^#\/?/, "").split("/");
    const view = VIEWS.includes(parts[0]) ? parts[0] : "conversations";
    const id = parts[1] ? decodeURIComponent(parts[1]) : null;
    state.view = view;
    for (const name of VIEWS) {
      $("#view-" + name).hidden = name !== view;
      const tab = document.querySelector('.tabs a[data-view="' + name + '"]');
      if (name === view) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    if (view === "conversations") {
      if (id !== state.openId) {
        state.openId = id;
        hideTyping();
        state.thread = null;
        state.threadShown = THREAD_PAGE;
        renderThread();
        renderConversations();
        refreshThread();
      }
    } else if (view === "requests") {
      const seq = id;
      if (seq !== state.selectedSeq) {
        state.selectedSeq = seq;
        refreshRequestDetail();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Start.

  function themeButton() {
    const b = $("#theme-toggle");
    const dark = effectiveTheme() === "dark";
    b.setAttribute("aria-pressed", String(dark));
    b.textContent = dark ? "\u263E Dark" : "\u2600 Light";
    b.title = dark ? "Dark theme on: press for the light theme" : "Light theme on: press for the dark theme";
  }

  function start() {
    themeButton();
    systemDark.addEventListener("change", themeButton);
    $("#theme-toggle").addEventListener("click", () => {
      const next = effectiveTheme() === "dark" ? "light" : "dark";
      try {
        localStorage.setItem(THEME_KEY, next);
      } catch (_) {
        // Private windows may refuse storage; the toggle still works for this visit.
      }
      applyTheme(next);
      themeButton();
    });
    $("#copy-credentials").addEventListener("click", copyCredentials);

    $("#as-user").addEventListener("change", (e) => {
      state.as = e.target.value;
      refreshConversations();
      renderThread();
    });
    $("#composer-from").addEventListener("change", renderComposerTo);
    $("#composer").addEventListener("submit", send);
    $("#composer-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        $("#composer").requestSubmit();
      }
    });
    $("#mark-read").addEventListener("click", markRead);
    $("#show-typing").addEventListener("click", showTypingAsSender);
    $("#new-group").addEventListener("click", openGroupDialog);
    $("#group-form").addEventListener("submit", createGroup);
    $("#group-cancel").addEventListener("click", () => $("#group-dialog").close());

    $("#filter-status").addEventListener("change", () => {
      requestsNeedFull = true;
      refreshRequests();
    });
    $("#filter-user").addEventListener("change", () => {
      requestsNeedFull = true;
      refreshRequests();
    });
    let endpointTimer = null;
    $("#filter-endpoint").addEventListener("input", () => {
      clearTimeout(endpointTimer);
      endpointTimer = setTimeout(() => {
        requestsNeedFull = true;
        refreshRequests();
      }, 250);
    });
    $("#request-filters").addEventListener("submit", (e) => e.preventDefault());
    $("#clear-log").addEventListener("click", clearLog);
    // A click anywhere on a row opens it; the path link inside is what the keyboard reaches.
    $("#request-list").addEventListener("click", (e) => {
      const row = e.target.closest("tr[data-seq]");
      if (row && !e.target.closest("a")) location.hash = "#/requests/" + row.dataset.seq;
    });

    fillTemplates();
    syncFaultKind();
    $("#fault-kind").addEventListener("change", syncFaultKind);
    $("#fault-form").addEventListener("submit", armFault);
    $("#fault-clear").addEventListener("click", clearFaults);
    $("#stream-drop").addEventListener("click", dropStream);
    $("#webhooks-fail").addEventListener("click", failWebhooks);

    window.addEventListener("hashchange", route);
    if (!location.hash) history.replaceState(null, "", "#/conversations");
    connectUpdates();
    setInterval(tick, 1000);
    // Names come with the world: everything else waits for it, so that no list shows bare ids.
    loadWorld()
      .catch((e) => toast(e.message, true))
      .then(() => {
        route();
        refreshAll(false);
      });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
