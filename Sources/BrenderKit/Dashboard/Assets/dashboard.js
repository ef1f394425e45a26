// brender dashboard: watch and steer the farm. One module, no dependencies, no build step.
//
// Everything comes from the server's own API with the token in an Authorization header (kept in
// this tab's sessionStorage, never in a URL or a cookie), and stays current from the event stream
// (GET /events, read with fetch so that it can carry the header). Views re-read the server only
// when an event says something they show has changed.

const TOKEN_KEY = "brender.token";
const PAGE_SIZE = 50;

// ---------- small helpers ----------

const $ = (selector, root = document) => root.querySelector(selector);

/** Makes an element: h("td", {class: "num", text: "3"}, child...). Text is always set as text. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") element.textContent = value;
    else if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function plural(count, word) {
  return `${count.toLocaleString()} ${word}${count === 1 ? "" : "s"}`;
}

/** 45 s, 3 min 20 s, 2 h 05 min, 3 d 4 h. */
function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function parseTime(text) {
  const time = text ? Date.parse(text) : NaN;
  return isNaN(time) ? null : time;
}

/** "3 min ago", with the local date and time as the element's title. */
function timeCell(text) {
  const time = parseTime(text);
  if (time === null) return h("span", { text: "–" });
  const ago = (Date.now() - time) / 1000;
  const label = ago < 5 ? "just now" : ago < 86400 ? `${formatDuration(ago).replace(/ \d+ s$/, "")} ago` : new Date(time).toLocaleDateString();
  return h("time", { datetime: text, title: new Date(time).toLocaleString(), text: label });
}

function statusLabel(status) {
  return h("span", { class: `status status-${status}`, text: status });
}

function progressCell(done, total) {
  const percent = total > 0 ? Math.floor((done / total) * 100) : 0;
  return h(
    "div",
    { class: "progress" },
    h("progress", { max: total || 1, value: done, "aria-label": `${done} of ${total} frames` }),
    h("span", { class: "text", text: `${done.toLocaleString()}/${total.toLocaleString()} (${percent}%)` }),
  );
}

let toastTimer = 0;
function toast(message, bad = false) {
  const box = $("#toast");
  box.textContent = message;
  box.className = `toast shown${bad ? " bad" : ""}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.className = "toast"), bad ? 7000 : 3500);
}

/** Asks before something that cannot be undone or touches many records; resolves to true or false. */
function confirmAction(text, confirmLabel = "Confirm") {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

/**
 * Runs action at most once per `wait` ms, and always after the last call: for re-reading the
 * server as events arrive, which on a busy farm never pause long enough for a debounce.
 */
function throttle(action, wait) {
  let timer = 0;
  const run = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      // A re-read that fails (the connection is down: the banner says so) waits for the next event.
      Promise.resolve(action()).catch((error) => console.warn("brender: could not re-read the farm:", error));
    }, wait);
  };
  run.cancel = () => {
    clearTimeout(timer);
    timer = 0;
  };
  return run;
}

/** Runs action once calls have stopped for `wait` ms: for typing. */
function debounce(action, wait) {
  let timer = 0;
  const run = () => {
    clearTimeout(timer);
    timer = setTimeout(action, wait);
  };
  run.cancel = () => clearTimeout(timer);
  return run;
}

// ---------- the server ----------

class SignedOut extends Error {}

const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  name: "",
  role: "read-only",
  /** May change jobs (submit tokens only their own; the server decides). */
  get canChangeJobs() { return this.role !== "read-only"; },
  /** May change clients. */
  get canChangeClients() { return this.role === "admin"; },
};

async function send(path, options = {}) {
  // Signed out: a timer or a queued read of the page that was left asks nothing.
  const token = session.token;
  if (!token) throw new SignedOut();
  const headers = new Headers(options.headers || {});
  headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...options, headers, cache: options.cache || "default", credentials: "omit" });
  if (response.status === 401) {
    // Only the session that asked is signed out: a late answer to one that has ended must not
    // clear the sign-in form someone is filling in, or end the session that followed.
    if (token === session.token) {
      signOut(session.name
        ? "The server no longer takes this token (revoked or rotated): sign in again."
        : "That token was refused. On the server machine, 'brender server token show' prints the admin token.");
    }
    throw new SignedOut();
  }
  return response;
}

/** One call of the JSON API; resolves to {items, total} or throws an Error with the server's message. */
async function api(request) {
  const response = await send("/api", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(request),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || body.ok === false) {
    const error = body.error || {};
    throw new Error(error.message || `the server answered ${response.status}`);
  }
  return body;
}

async function getJSON(path) {
  const response = await send(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: the server answered ${response.status}`);
  return response.json();
}

/** Runs a change and reports it; errors become a toast, not an exception. */
async function change(request, done) {
  try {
    const answer = await api(request);
    toast(done(answer));
    return answer;
  } catch (error) {
    if (!(error instanceof SignedOut)) toast(error.message, true);
    return null;
  }
}

// ---------- live events ----------

/**
 * Follows GET /events and hands each event to the current view. A lost connection shows the
 * banner and resumes by itself from the last event id (the server replays what was missed, or
 * says `reset` when it cannot, and the view reads everything again).
 */
class EventFeed {
  constructor(onEvent, onReset) {
    this.onEvent = onEvent;
    this.onReset = onReset;
    this.lastId = null;
    this.controller = null;
    this.failures = 0;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  async connect() {
    while (!this.stopped) {
      this.controller = new AbortController();
      let opened = false;
      try {
        const headers = {};
        if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
        const response = await send("/events", { headers, signal: this.controller.signal, cache: "no-store" });
        if (!response.ok || !response.body) throw new Error(`the event stream answered ${response.status}`);
        opened = true;
        this.failures = 0;
        setConnected(true);
        await this.read(response.body);
      } catch (error) {
        if (error instanceof SignedOut || this.stopped) return;
      }
      if (this.stopped) return;
      setConnected(false);
      this.failures += 1;
      const wait = opened ? 500 : Math.min(10000, 1000 * 2 ** Math.min(this.failures - 1, 4));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { type: "message", data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          if (event.data.length > 0 || event.type === "reset") this.dispatch(event);
          event = { type: "message", data: [], id: null };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event.type = text;
          else if (field === "data") event.data.push(text);
          else if (field === "id") event.id = text;
        }
      }
    }
  }

  dispatch(event) {
    if (event.id !== null) this.lastId = event.id;
    if (event.type === "reset") {
      this.onReset();
      return;
    }
    let data = {};
    try {
      data = JSON.parse(event.data.join("\n"));
    } catch {
      return;
    }
    this.onEvent(event.type, data);
  }
}

function setConnected(connected) {
  const banner = $("#banner");
  const live = $("#live");
  live.classList.toggle("down", !connected);
  live.textContent = connected ? "live" : "offline";
  if (connected) {
    banner.hidden = true;
  } else {
    banner.textContent = "Lost the connection to the server: reconnecting… What you see may be out of date.";
    banner.hidden = false;
  }
}

// ---------- selection with shift-click ranges ----------

/** The ids ticked in a table; shift-click ticks or unticks the range from the last click. */
class Selection {
  constructor(onChange) {
    this.ids = new Set();
    this.order = [];
    this.anchor = null;
    this.onChange = onChange;
  }

  reset(order) {
    this.order = order;
    for (const id of [...this.ids]) if (!order.includes(id)) this.ids.delete(id);
    this.anchor = null;
  }

  click(id, checked, shift) {
    if (shift && this.anchor !== null) {
      const from = this.order.indexOf(this.anchor);
      const to = this.order.indexOf(id);
      if (from >= 0 && to >= 0) {
        for (const other of this.order.slice(Math.min(from, to), Math.max(from, to) + 1)) {
          if (checked) this.ids.add(other);
          else this.ids.delete(other);
        }
      }
    } else if (checked) this.ids.add(id);
    else this.ids.delete(id);
    this.anchor = id;
    this.onChange();
  }

  setAll(checked) {
    if (checked) for (const id of this.order) this.ids.add(id);
    else this.ids.clear();
    this.onChange();
  }

  get list() {
    return this.order.filter((id) => this.ids.has(id));
  }
}

/** Says how many rows are ticked, and offers the actions on them only when some are. */
function showSelection(selection, count, buttons) {
  const selected = selection.list.length;
  count.textContent = selected ? `${selected} selected` : "";
  for (const button of buttons) button.disabled = selected === 0;
}

function selectionBox(selection, id, label) {
  const box = h("input", { type: "checkbox", "aria-label": label });
  box.checked = selection.ids.has(id);
  box.addEventListener("click", (event) => selection.click(id, box.checked, event.shiftKey));
  return box;
}

function headerBox(selection, label) {
  const box = h("input", { type: "checkbox", "aria-label": label });
  box.addEventListener("click", () => selection.setAll(box.checked));
  return box;
}

/** A column header that sorts the table by its field on click. */
function sortHeader(label, field, sort, onSort) {
  const current = sort.replace(/^-/, "") === field ? (sort.startsWith("-") ? "descending" : "ascending") : null;
  const button = h("button", { type: "button", text: label, title: `Sort by ${label.toLowerCase()}` });
  button.addEventListener("click", () => onSort(current === "ascending" ? `-${field}` : field));
  return h("th", { scope: "col", "aria-sort": current || "none" }, button);
}

function pager(offset, shown, total, onPage) {
  const first = total === 0 ? 0 : offset + 1;
  return h(
    "div",
    { class: "pager" },
    h("span", { text: `${first.toLocaleString()}–${(offset + shown).toLocaleString()} of ${total.toLocaleString()}` }),
    h("button", { type: "button", class: "quiet", text: "Previous", disabled: offset === 0, onclick: () => onPage(Math.max(0, offset - PAGE_SIZE)) }),
    h("button", { type: "button", class: "quiet", text: "Next", disabled: offset + shown >= total, onclick: () => onPage(offset + PAGE_SIZE) }),
  );
}

// ---------- job actions, shared by the jobs list and a job's page ----------

const jobActions = [
  { label: "Pause", values: { status: "paused" }, verb: "paused" },
  { label: "Resume", values: { status: "queued" }, verb: "resumed" },
  { label: "Cancel", values: { status: "canceled" }, verb: "canceled", confirm: "Cancel" },
  { label: "Requeue", requeue: true, verb: "requeued" },
  { label: "Delete", delete: true, verb: "deleted", confirm: "Delete" },
];

async function runJobAction(action, ids) {
  if (ids.length === 0) return;
  const what = ids.length === 1 ? `job ${ids[0]}` : `${ids.length} jobs`;
  if (action.confirm) {
    const consequence = action.delete ? "Its tasks, logs and previews are removed; rendered files stay." : "Running tasks are stopped.";
    if (!(await confirmAction(`${action.confirm} ${what}? ${consequence}`, `${action.confirm} ${what}`))) return;
  }
  if (action.requeue) {
    await change(
      { item: "task", action: "update", filters: { job: ids, status: ["failed", "canceled"] }, values: { status: "queued" } },
      (answer) => (answer.count === 0 ? `${what}: no failed or canceled tasks to requeue` : `${plural(answer.count, "task")} of ${what} requeued`),
    );
  } else if (action.delete) {
    await change({ item: "job", action: "delete", filters: { id: ids } }, (answer) => `${plural(answer.count, "job")} deleted`);
  } else {
    await change({ item: "job", action: "update", filters: { id: ids }, values: action.values }, (answer) => `${plural(answer.total, "job")} ${action.verb}`);
  }
}

function jobActionBar(getIds, onDone) {
  const buttons = jobActions.map((action) =>
    h("button", { type: "button", class: action.delete || action.label === "Cancel" ? "quiet" : "", text: action.label, onclick: async () => {
      await runJobAction(action, getIds());
      onDone?.();
    } }),
  );
  const priority = h("input", { type: "number", min: 0, max: 100, value: 50, "aria-label": "New priority", class: "priority", size: 4 });
  const setPriority = h("button", { type: "button", class: "quiet", text: "Set priority", onclick: async () => {
    const ids = getIds();
    const value = Number(priority.value);
    if (ids.length === 0 || !Number.isInteger(value) || value < 0 || value > 100) {
      toast("The priority is a whole number from 0 to 100", true);
      return;
    }
    await change({ item: "job", action: "update", filters: { id: ids }, values: { priority: value } }, (answer) => `priority ${value} set on ${plural(answer.total, "job")}`);
    onDone?.();
  } });
  const byLabel = Object.fromEntries(jobActions.map((action, index) => [action.label, buttons[index]]));
  /** For one job's page: offers only what its status allows. */
  const fit = (job) => {
    const finished = ["completed", "failed", "canceled"].includes(job.status);
    byLabel.Pause.disabled = !["queued", "active", "waiting"].includes(job.status);
    byLabel.Resume.disabled = job.status !== "paused";
    byLabel.Cancel.disabled = finished;
    byLabel.Requeue.disabled = !(finished || job.tasks_failed > 0);
    byLabel.Delete.disabled = job.tasks_active > 0;
    if (document.activeElement !== priority) priority.value = job.priority;
  };
  return { buttons: [...buttons, priority, setPriority], all: [...buttons, setPriority], fit };
}

// ---------- views ----------

/** The farm at a glance: clients, jobs by status, the rate, and the active jobs with their time left. */
class OverviewView {
  constructor(root) {
    this.root = root;
    this.refresh = throttle(() => this.load(), 1000);
    // Frames "in the last hour" move with the clock as well as with events.
    this.clock = setInterval(() => this.load(), 60000);
  }

  async load() {
    const sequence = (this.sequence = (this.sequence || 0) + 1);
    const [farm, active] = await Promise.all([
      api({ item: "farm", action: "read" }),
      api({ item: "job", action: "read", filters: { status: ["active", "queued", "paused", "waiting"] }, sort: "-priority", limit: 20 }),
    ]);
    if (sequence !== this.sequence) return; // a later read is on its way
    this.render(farm.items[0], active);
  }

  render(farm, active) {
    const card = (label, value, detail) => h("div", { class: "card" }, h("div", { class: "label", text: label }), h("div", { class: "value", text: value }), detail ? h("div", { class: "detail", text: detail }) : null);
    const online = farm.clients_busy + farm.clients_idle;
    const rows = active.items.map((job) =>
      h("tr", {},
        h("td", { class: "num" }, h("a", { href: `#/jobs/${job.id}`, text: job.id })),
        h("td", { class: "name" }, h("a", { href: `#/jobs/${job.id}`, text: job.name })),
        h("td", {}, statusLabel(job.status)),
        h("td", {}, progressCell(job.frames_done, job.frames_total)),
        h("td", { text: job.status === "active" ? formatDuration(job.time_left) : "–" }),
      ));
    this.root.replaceChildren(
      h("h1", { text: "Farm" }),
      h("div", { class: "cards" },
        card("Clients busy", `${farm.clients_busy} / ${online}`, `${farm.clients_idle} idle, ${farm.clients_offline} offline, ${farm.clients_disabled} disabled` + (farm.slots_online > online ? `; slots ${farm.slots_busy} / ${farm.slots_online} busy` : "")),
        card("Jobs active", farm.jobs_active, `${farm.jobs_queued} queued, ${farm.jobs_paused} paused, ${farm.jobs_waiting} waiting`),
        card("Jobs finished", farm.jobs_completed, `${farm.jobs_failed} failed, ${farm.jobs_canceled} canceled`),
        card("Frames, last hour", farm.frames_last_hour.toLocaleString(), `${farm.tasks_active} tasks running`),
        card("Rate", `${farm.frames_per_minute}`, "frames per minute (last 10 min)"),
      ),
      h("h2", { text: "Jobs in progress" }),
      h("div", { class: "panel" }, rows.length === 0 ? h("p", { class: "empty", text: "No job is queued or running." }) :
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Id" }), h("th", { scope: "col", text: "Name" }), h("th", { scope: "col", text: "Status" }), h("th", { scope: "col", text: "Progress" }), h("th", { scope: "col", text: "Time left" }))),
          h("tbody", {}, rows))),
    );
  }

  onEvent(type) {
    if (type !== "log" && type !== "preview") this.refresh();
  }

  dispose() {
    this.refresh.cancel();
    clearInterval(this.clock);
  }
}

/** Every job, paged by the server, sortable, filtered by status and text, with bulk actions. */
class JobsView {
  constructor(root, params) {
    this.root = root;
    this.sort = params.get("sort") || "-id";
    this.status = params.get("status") || "";
    this.search = params.get("q") || "";
    this.offset = Number(params.get("offset")) || 0;
    this.items = [];
    this.total = 0;
    this.highestId = 0;
    this.selection = new Selection(() => this.renderRows());
    this.refresh = throttle(() => this.load(), 500);
    this.build();
  }

  build() {
    const status = h("select", { "aria-label": "Status", onchange: () => { this.status = status.value; this.offset = 0; this.load(); } },
      h("option", { value: "", text: "Any status" }),
      ...["waiting", "queued", "active", "paused", "completed", "failed", "canceled"].map((name) => h("option", { value: name, text: name })));
    status.value = this.status;
    const search = h("input", { type: "search", placeholder: "Search name, file, tag, owner", "aria-label": "Search jobs", value: this.search });
    const searchLater = debounce(() => { this.search = search.value.trim(); this.offset = 0; this.load(); }, 250);
    search.addEventListener("input", searchLater);
    this.count = h("span", { class: "selection", "aria-live": "polite" });
    const actions = session.canChangeJobs ? jobActionBar(() => this.selection.list, () => this.selection.setAll(false)) : null;
    this.actionButtons = actions?.all || [];
    this.table = h("div", { class: "panel" });
    this.root.replaceChildren(
      h("h1", { text: "Jobs" }),
      h("div", { class: "toolbar" }, search, status, h("span", { class: "grow" }), this.count),
      actions ? h("div", { class: "toolbar", role: "group", "aria-label": "Actions on the selected jobs" }, actions.buttons) : null,
      this.table,
    );
  }

  async load() {
    const request = { item: "job", action: "read", sort: this.sort, limit: PAGE_SIZE, offset: this.offset };
    if (this.status) request.filters = { status: this.status };
    if (this.search) request.search = this.search;
    const sequence = (this.sequence = (this.sequence || 0) + 1);
    const answer = await api(request);
    if (sequence !== this.sequence) return; // a later read is on its way
    if (answer.items.length === 0 && this.offset > 0 && answer.total > 0) {
      this.offset = Math.max(0, Math.floor((answer.total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return this.load();
    }
    this.items = answer.items;
    this.total = answer.total;
    for (const job of this.items) this.highestId = Math.max(this.highestId, job.id);
    this.selection.reset(this.items.map((job) => job.id));
    this.renderRows();
  }

  renderRows() {
    showSelection(this.selection, this.count, this.actionButtons);
    if (this.items.length === 0) {
      this.table.replaceChildren(h("p", { class: "empty", text: this.search || this.status ? "No job matches." : "No jobs yet: submit one with brender job submit." }));
      return;
    }
    const onSort = (sort) => { this.sort = sort; this.offset = 0; this.load(); };
    const head = h("tr", {},
      session.canChangeJobs ? h("th", { scope: "col" }, headerBox(this.selection, "Select every job on this page")) : null,
      sortHeader("Id", "id", this.sort, onSort), sortHeader("Name", "name", this.sort, onSort), sortHeader("Status", "status", this.sort, onSort),
      sortHeader("Priority", "priority", this.sort, onSort), sortHeader("Progress", "frames_done", this.sort, onSort),
      sortHeader("Started", "started_at", this.sort, onSort), sortHeader("Time left", "time_left", this.sort, onSort),
      h("th", { scope: "col", class: "hide-narrow", text: "Owner" }));
    this.table.replaceChildren(
      h("table", {}, h("thead", {}, head), h("tbody", {}, this.items.map((job) => this.row(job)))),
      pager(this.offset, this.items.length, this.total, (offset) => { this.offset = offset; this.load(); }),
    );
  }

  row(job) {
    const selected = this.selection.ids.has(job.id);
    return h("tr", { class: selected ? "selected" : "", dataset: { job: job.id } },
      session.canChangeJobs ? h("td", {}, selectionBox(this.selection, job.id, `Select job ${job.id} ${job.name}`)) : null,
      h("td", { class: "num" }, h("a", { href: `#/jobs/${job.id}`, text: job.id })),
      h("td", { class: "name" }, h("a", { href: `#/jobs/${job.id}`, text: job.name })),
      h("td", {}, statusLabel(job.status), job.reason && job.status !== "completed" ? h("span", { class: "hide-narrow", title: job.reason, text: " ⓘ" }) : null),
      h("td", { class: "num", text: job.priority }),
      h("td", {}, progressCell(job.frames_done, job.frames_total)),
      h("td", {}, timeCell(job.started_at)),
      h("td", { text: job.status === "active" ? formatDuration(job.time_left) : "–" }),
      h("td", { class: "hide-narrow", text: job.submitted_by || "–" }));
  }

  onEvent(type, data) {
    if (type === "job") {
      const index = this.items.findIndex((job) => job.id === data.job);
      if (index >= 0) {
        const job = this.items[index];
        Object.assign(job, { name: data.name, status: data.status, priority: data.priority, frames_done: data.frames_done, frames_total: data.frames_total,
          reason: data.reason, time_left: data.time_left, started_at: data.started_at });
        const row = this.table.querySelector(`tr[data-job="${job.id}"]`);
        row?.replaceWith(this.row(job));
        if (this.status && job.status !== this.status) this.refresh();
      } else if (data.job > this.highestId || (this.status && data.status === this.status)) {
        this.highestId = Math.max(this.highestId, data.job);
        this.refresh();
      }
    } else if (type === "job_deleted" && this.items.some((job) => job.id === data.job)) {
      this.refresh();
    }
  }

  dispose() {
    this.refresh.cancel();
  }
}

/** Every client with what it runs; enable or disable one, several or all. */
class ClientsView {
  constructor(root) {
    this.root = root;
    this.items = [];
    this.total = 0;
    this.offset = 0;
    this.sort = "name";
    this.tasks = new Map();
    this.selection = new Selection(() => this.renderRows());
    this.refresh = throttle(() => this.load(), 500);
    this.build();
  }

  build() {
    this.count = h("span", { class: "selection", "aria-live": "polite" });
    this.table = h("div", { class: "panel" });
    const act = (status) => async () => {
      const ids = this.selection.list;
      if (ids.length === 0) return;
      await change({ item: "client", action: "update", filters: { id: ids }, values: { status } }, (answer) => `${plural(answer.total, "client")} ${status}`);
      this.selection.setAll(false);
    };
    const all = (status) => async () => {
      if (!(await confirmAction(`${status === "disabled" ? "Disable" : "Enable"} every client of the farm (${plural(this.total, "client")})? ${status === "disabled" ? "Running tasks finish; no client takes new work." : ""}`, `${status === "disabled" ? "Disable" : "Enable"} all`))) return;
      await change({ item: "client", action: "update", all: true, values: { status } }, (answer) => `${plural(answer.total, "client")} ${status}`);
    };
    this.actionButtons = session.canChangeClients ? [
      h("button", { type: "button", text: "Enable", onclick: act("enabled") }),
      h("button", { type: "button", text: "Disable", onclick: act("disabled") }),
    ] : [];
    this.root.replaceChildren(
      h("h1", { text: "Clients" }),
      session.canChangeClients ? h("div", { class: "toolbar", role: "group", "aria-label": "Actions on clients" },
        this.actionButtons, h("span", { class: "grow" }), this.count,
        h("button", { type: "button", class: "quiet", text: "Enable all…", onclick: all("enabled") }),
        h("button", { type: "button", class: "quiet", text: "Disable all…", onclick: all("disabled") })) : null,
      this.table,
    );
  }

  async load() {
    const sequence = (this.sequence = (this.sequence || 0) + 1);
    const answer = await api({ item: "client", action: "read", sort: this.sort, limit: PAGE_SIZE, offset: this.offset });
    const taskIds = answer.items.flatMap((client) => client.tasks || []);
    const tasks = new Map();
    if (taskIds.length > 0) {
      for (const task of (await api({ item: "task", action: "read", filters: { id: taskIds } })).items) tasks.set(task.id, task);
    }
    if (sequence !== this.sequence) return; // a later read is on its way
    this.items = answer.items;
    this.total = answer.total;
    this.tasks = tasks;
    this.selection.reset(this.items.map((client) => client.id));
    this.renderRows();
  }

  renderRows() {
    showSelection(this.selection, this.count, this.actionButtons);
    if (this.items.length === 0) {
      this.table.replaceChildren(h("p", { class: "empty", text: "No clients yet: start brender worker on a render node." }));
      return;
    }
    const onSort = (sort) => { this.sort = sort; this.offset = 0; this.load(); };
    const head = h("tr", {},
      session.canChangeClients ? h("th", { scope: "col" }, headerBox(this.selection, "Select every client on this page")) : null,
      sortHeader("Name", "name", this.sort, onSort), sortHeader("Status", "status", this.sort, onSort),
      sortHeader("Connection", "connection", this.sort, onSort), sortHeader("Activity", "activity", this.sort, onSort),
      h("th", { scope: "col", text: "Task" }), h("th", { scope: "col", class: "hide-narrow", text: "Tags" }),
      h("th", { scope: "col", class: "hide-narrow", text: "Blender" }),
      sortHeader("Platform", "platform", this.sort, onSort), h("th", { scope: "col", class: "hide-narrow", text: "Schedule" }),
      sortHeader("Last seen", "last_seen", this.sort, onSort));
    this.table.replaceChildren(
      h("table", {}, h("thead", {}, head), h("tbody", {}, this.items.map((client) => this.row(client)))),
      pager(this.offset, this.items.length, this.total, (offset) => { this.offset = offset; this.load(); }),
    );
  }

  row(client) {
    const running = client.tasks || [];
    const taskCell = running.length === 0 ? h("td", { text: "–" }) : h("td", {}, running.map((id) => {
      const task = this.tasks.get(id);
      return h("div", { class: "running-task" },
        task ? h("a", { href: `#/jobs/${task.job}?task=${task.id}`, text: `job ${task.job} · frames ${task.frames}` }) : h("span", { text: `task ${id}` }),
        task ? h("div", {}, progressCell(task.frames_done, task.frame_count)) : null);
    }));
    // A client with slots says how many of them are busy: "busy 1/2".
    const activity = client.slots > 1 ? h("td", {}, statusLabel(client.activity), h("span", { class: "slots", text: ` ${client.slots_busy}/${client.slots}`, title: `${client.slots_busy} of ${client.slots} slots busy` })) : h("td", {}, statusLabel(client.activity));
    return h("tr", { class: this.selection.ids.has(client.id) ? "selected" : "", dataset: { client: client.id } },
      session.canChangeClients ? h("td", {}, selectionBox(this.selection, client.id, `Select client ${client.name}`)) : null,
      h("td", { class: "name", text: client.name }),
      h("td", {}, statusLabel(client.status)),
      h("td", {}, statusLabel(client.connection)),
      activity,
      taskCell,
      h("td", { class: "hide-narrow" }, (client.tags || []).map((tag) => h("span", { class: "tag", text: tag }))),
      h("td", { class: "hide-narrow", text: (client.blender_versions || []).join(", ") || "–" }),
      h("td", { text: client.platform }),
      h("td", { class: "hide-narrow", text: client.schedule || "always" }),
      h("td", {}, timeCell(client.last_seen)));
  }

  onEvent(type, data) {
    if (type === "client") {
      const client = this.items.find((item) => item.id === data.client);
      if (!client) return this.refresh();
      Object.assign(client, { name: data.name, status: data.status, connection: data.connection, activity: data.activity, task: data.task, tasks: data.tasks, slots: data.slots, slots_busy: data.slots_busy });
      if ((client.tasks || []).some((id) => !this.tasks.has(id))) return this.refresh();
      this.table.querySelector(`tr[data-client="${client.id}"]`)?.replaceWith(this.row(client));
    } else if (type === "task" && this.tasks.has(data.task)) {
      const task = this.tasks.get(data.task);
      Object.assign(task, { status: data.status, frames_done: data.frames_done });
      const client = this.items.find((item) => (item.tasks || []).includes(data.task));
      if (client) this.table.querySelector(`tr[data-client="${client.id}"]`)?.replaceWith(this.row(client));
    } else if (type === "client_deleted") {
      this.refresh();
    }
  }

  dispose() {
    this.refresh.cancel();
  }
}

/** Fetches preview images with the token and hands out object URLs, a few at a time. */
class PreviewLoader {
  constructor() {
    this.urls = new Map();
    this.queue = [];
    this.running = 0;
  }

  load(path, image) {
    if (this.urls.has(path)) {
      image.src = this.urls.get(path);
      return;
    }
    this.queue.push({ path, image });
    this.next();
  }

  async next() {
    if (this.running >= 4 || this.queue.length === 0) return;
    const { path, image } = this.queue.shift();
    this.running += 1;
    try {
      const response = await send(path);
      if (response.ok) {
        const url = URL.createObjectURL(await response.blob());
        this.urls.set(path, url);
        image.src = url;
      }
    } catch {
      // A preview that cannot be fetched stays a placeholder.
    } finally {
      this.running -= 1;
      this.next();
    }
  }

  dispose() {
    this.queue = [];
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
  }
}

/** One job: its state and actions, the contact sheet of its frames, its tasks, a task's live log. */
class JobView {
  constructor(root, id, params) {
    this.root = root;
    this.id = id;
    this.job = null;
    this.tasks = [];
    this.tasksTotal = 0;
    this.tasksOffset = 0;
    this.clientNames = new Map();
    this.sheet = null;
    this.cells = new Map();
    this.previews = new PreviewLoader();
    this.logTask = Number(params.get("task")) || null;
    this.logOffset = 0;
    this.logBusy = false;
    this.logAgain = false;
    this.reloadSheet = throttle(() => this.loadSheet(), 500);
    this.reloadTasks = throttle(() => this.loadTasks(), 500);
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        this.observer.unobserve(entry.target);
        this.showPreview(Number(entry.target.dataset.frame));
      }
    }, { rootMargin: "200px" });
  }

  async load() {
    const [jobs, clients] = await Promise.all([
      api({ item: "job", action: "read", filters: { id: this.id } }),
      api({ item: "client", action: "read", limit: 10000 }),
    ]);
    if (jobs.items.length === 0) {
      this.root.replaceChildren(h("h1", { text: `Job ${this.id}` }), h("p", { class: "empty", text: "There is no such job: it may have been deleted." }), h("a", { href: "#/jobs", text: "All jobs" }));
      return;
    }
    this.job = jobs.items[0];
    for (const client of clients.items) this.clientNames.set(client.id, client.name);
    this.build();
    await Promise.all([this.loadSheet(), this.loadTasks()]);
    if (this.logTask) this.openLog(this.logTask);
  }

  build() {
    this.head = h("div", { class: "job-head" });
    this.sheetBox = h("div", { class: "sheet", role: "list", "aria-label": "Frames" });
    this.sheetNote = h("span", { class: "selection" });
    this.tasksBox = h("div", { class: "panel" });
    this.logBox = h("div", { class: "panel", hidden: true });
    const actions = session.canChangeJobs ? jobActionBar(() => [this.id], () => this.reloadJob()) : null;
    this.fitActions = actions?.fit;
    this.root.replaceChildren(
      h("p", {}, h("a", { href: "#/jobs", text: "← All jobs" })),
      this.head,
      actions ? h("div", { class: "toolbar", role: "group", "aria-label": "Actions on this job" }, actions.buttons) : null,
      h("div", { class: "split" },
        h("section", { "aria-labelledby": "sheet-title" },
          h("div", { class: "toolbar" }, h("h2", { id: "sheet-title", text: "Contact sheet" }), h("span", { class: "grow" }), this.sheetNote),
          h("div", { class: "panel" }, this.sheetBox)),
        h("section", { "aria-labelledby": "tasks-title" },
          h("h2", { id: "tasks-title", text: "Tasks" }), this.tasksBox,
          h("h2", { id: "log-title", text: "Task log", hidden: true }), this.logBox)),
    );
    this.renderHead();
  }

  renderHead() {
    const job = this.job;
    const fact = (label, value) => (value === null || value === undefined || value === "" ? null : h("span", {}, `${label} `, h("b", { text: value })));
    this.head.replaceChildren(
      h("h1", {}, `${job.name} `, statusLabel(job.status)),
      h("div", { class: "toolbar" }, progressCell(job.frames_done, job.frames_total),
        h("span", { class: "selection", text: job.status === "active" && job.time_left !== null && job.time_left !== undefined ? `about ${formatDuration(job.time_left)} left` : "" })),
      h("div", { class: "facts" },
        fact("Job", `${job.id}`), fact("Priority", `${job.priority}`), fact("Frames", job.frames), fact("Chunk", job.chunk),
        fact("Format", job.format), fact("File", job.file), fact("Output", job.output),
        fact("Tags", (job.tags || []).join(", ")), fact("Submitted by", job.submitted_by),
        fact("Submitted", job.created_at && new Date(job.created_at).toLocaleString()),
        fact("Started", job.started_at && new Date(job.started_at).toLocaleString()),
        fact("Finished", job.finished_at && new Date(job.finished_at).toLocaleString()),
        job.slow_tasks?.length ? h("span", { class: "flag", text: `slow tasks: ${job.slow_tasks.join(", ")}` }) : null,
        job.reason ? fact("Note", job.reason) : null),
    );
    this.fitActions?.(job);
  }

  async reloadJob() {
    const jobs = await api({ item: "job", action: "read", filters: { id: this.id } });
    if (jobs.items.length === 0) {
      location.hash = "#/jobs";
      return;
    }
    this.job = jobs.items[0];
    this.renderHead();
  }

  // The contact sheet: a cell per frame; the preview once one exists, else whether it is rendered.
  async loadSheet() {
    this.sheet = await getJSON(`/jobs/${this.id}/frames`);
    const rendered = new Set(this.sheet.rendered);
    const frames = this.sheet.frames;
    if (this.cells.size !== frames.length) {
      this.cells.clear();
      this.sheetBox.replaceChildren(...frames.map((frame) => {
        const cell = h("div", { class: "frame", role: "listitem", dataset: { frame } });
        this.cells.set(frame, cell);
        return cell;
      }));
    }
    for (const frame of frames) this.paintCell(frame, rendered.has(frame));
    const previewCount = Object.keys(this.sheet.previews).length;
    this.sheetNote.textContent = `${rendered.size.toLocaleString()} of ${this.sheet.frames_total.toLocaleString()} frames rendered, ${previewCount.toLocaleString()} previews${this.sheet.truncated ? ` (first ${frames.length.toLocaleString()} shown)` : ""}`;
  }

  paintCell(frame, rendered) {
    const cell = this.cells.get(frame);
    if (!cell) return;
    const version = this.sheet.previews[String(frame)];
    const state = version !== undefined ? `preview-${version}` : rendered ? "rendered" : "pending";
    if (cell.dataset.state === state) return;
    cell.dataset.state = state;
    cell.classList.toggle("rendered", rendered || version !== undefined);
    const label = `Frame ${frame}: ${version !== undefined ? "rendered" : rendered ? "rendered, no preview yet" : "not rendered yet"}`;
    cell.setAttribute("aria-label", label);
    cell.title = label;
    if (version !== undefined) {
      cell.replaceChildren(h("img", { alt: `Frame ${frame}`, width: 160, height: 120 }), h("span", { class: "number", text: frame }));
      this.observer.observe(cell);
    } else {
      cell.replaceChildren(h("span", { text: rendered ? "rendered" : "" }), h("span", { class: "number", text: frame }));
    }
  }

  showPreview(frame) {
    const version = this.sheet?.previews[String(frame)];
    const image = this.cells.get(frame)?.querySelector("img");
    if (version === undefined || !image) return;
    this.previews.load(`/jobs/${this.id}/frames/${frame}/preview?v=${version}`, image);
  }

  // Tasks, a page at a time, each with a button for its log.
  async loadTasks() {
    const answer = await api({ item: "task", action: "read", filters: { job: this.id }, limit: PAGE_SIZE * 2, offset: this.tasksOffset });
    this.tasks = answer.items;
    this.tasksTotal = answer.total;
    this.renderTasks();
  }

  renderTasks() {
    const now = Date.now();
    const rows = this.tasks.map((task) => {
      const started = parseTime(task.started_at);
      const finished = parseTime(task.finished_at);
      const duration = started === null ? null : ((task.status === "active" ? now : finished ?? now) - started) / 1000;
      return h("tr", { dataset: { task: task.id }, class: task.id === this.logTask ? "selected" : "" },
        h("td", { class: "num", text: task.id }),
        h("td", { text: task.role === "video" ? "video" : task.frames }),
        h("td", {}, statusLabel(task.status), task.slow ? h("span", { class: "flag", text: " slow" }) : null),
        h("td", { text: task.frame_count ? `${task.frames_done}/${task.frame_count}` : "–" }),
        h("td", { text: task.client ? this.clientNames.get(task.client) || `client ${task.client}` : "–" }),
        h("td", { class: "num", text: task.attempts }),
        h("td", { text: formatDuration(duration) }),
        h("td", {}, h("button", { type: "button", class: "quiet", text: "Log", "aria-label": `Log of task ${task.id}`, onclick: () => this.openLog(task.id) })));
    });
    this.tasksBox.replaceChildren(
      h("table", {},
        h("thead", {}, h("tr", {}, ...["Task", "Frames", "Status", "Done", "Client", "Attempts", "Duration", ""].map((label) => h("th", { scope: "col", text: label })))),
        h("tbody", {}, rows)),
      this.tasksTotal > this.tasks.length || this.tasksOffset > 0
        ? h("div", { class: "pager" },
          h("span", { text: `${this.tasksOffset + 1}–${this.tasksOffset + this.tasks.length} of ${this.tasksTotal}` }),
          h("button", { type: "button", class: "quiet", text: "Previous", disabled: this.tasksOffset === 0, onclick: () => { this.tasksOffset = Math.max(0, this.tasksOffset - PAGE_SIZE * 2); this.loadTasks(); } }),
          h("button", { type: "button", class: "quiet", text: "Next", disabled: this.tasksOffset + this.tasks.length >= this.tasksTotal, onclick: () => { this.tasksOffset += PAGE_SIZE * 2; this.loadTasks(); } }))
        : null,
    );
  }

  // A task's log, followed as it grows: a `log` event for the task asks for the bytes after what is shown.
  openLog(taskID) {
    this.logTask = taskID;
    this.logOffset = 0;
    this.logText = h("pre", { class: "log", tabindex: 0, "aria-label": `Log of task ${taskID}` });
    this.logStatus = h("span", { class: "selection" });
    this.follow = h("input", { type: "checkbox", id: "follow-log" });
    this.follow.checked = true;
    this.logBox.replaceChildren(
      h("div", { class: "log-head" }, h("b", { text: `Task ${taskID}` }), this.logStatus, h("span", { class: "grow" }),
        this.follow, h("label", { for: "follow-log", text: "Follow" }),
        h("button", { type: "button", class: "quiet", text: "Close", onclick: () => this.closeLog() })),
      this.logText);
    this.logBox.hidden = false;
    $("#log-title").hidden = false;
    this.renderTasks();
    this.readLog();
  }

  closeLog() {
    this.logTask = null;
    this.logBox.hidden = true;
    $("#log-title").hidden = true;
    this.renderTasks();
  }

  async readLog() {
    if (this.logBusy) {
      this.logAgain = true;
      return;
    }
    const taskID = this.logTask;
    if (!taskID) return;
    this.logBusy = true;
    try {
      const response = await send(`/logs/task/${taskID}?offset=${this.logOffset}`, { cache: "no-store" });
      if (taskID !== this.logTask) return;
      if (!response.ok) {
        this.logStatus.textContent = `cannot read the log (${response.status})`;
        return;
      }
      const text = await response.text();
      this.logOffset = Number(response.headers.get("X-Brender-Next-Offset")) || this.logOffset;
      this.logStatus.textContent = response.headers.get("X-Brender-Task-Status") || "";
      if (text) {
        const atEnd = this.logText.scrollTop + this.logText.clientHeight >= this.logText.scrollHeight - 8;
        this.logText.append(text);
        if (this.follow.checked && atEnd) this.logText.scrollTop = this.logText.scrollHeight;
      }
    } finally {
      this.logBusy = false;
      if (this.logAgain) {
        this.logAgain = false;
        this.readLog();
      }
    }
  }

  onEvent(type, data) {
    if (data.job !== this.id && type !== "client") return;
    switch (type) {
      case "job":
        Object.assign(this.job, { name: data.name, status: data.status, priority: data.priority, frames_done: data.frames_done, frames_total: data.frames_total,
          reason: data.reason, time_left: data.time_left, started_at: data.started_at, tasks_active: data.tasks_active, tasks_failed: data.tasks_failed });
        this.renderHead();
        break;
      case "task": {
        const task = this.tasks.find((item) => item.id === data.task);
        if (task) {
          const restarted = data.status === "active" && task.status !== "active";
          Object.assign(task, { status: data.status, frames_done: data.frames_done, client: data.client || null, attempts: data.attempts, error: data.error });
          if (restarted) this.reloadTasks();
          else this.renderTasks();
        }
        if (task?.status === "active" && data.task === this.logTask) this.logStatus.textContent = data.status;
        this.reloadSheet();
        break;
      }
      case "preview":
        if (this.sheet) {
          this.sheet.previews[String(data.frame)] = Date.now();
          this.paintCell(data.frame, true);
        }
        break;
      case "log":
        if (data.task === this.logTask && this.follow?.checked) this.readLog();
        break;
      case "job_deleted":
        toast(`Job ${this.id} was deleted`);
        location.hash = "#/jobs";
        break;
      case "client":
        this.clientNames.set(data.client, data.name);
        break;
    }
  }

  dispose() {
    this.reloadSheet.cancel();
    this.reloadTasks.cancel();
    this.observer.disconnect();
    this.previews.dispose();
  }
}

// ---------- the app ----------

let current = null;
let feed = null;

function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "jobs" && parts[1] && /^\d+$/.test(parts[1])) return { name: "jobs", make: (root) => new JobView(root, Number(parts[1]), params) };
  if (parts[0] === "jobs") return { name: "jobs", make: (root) => new JobsView(root, params) };
  if (parts[0] === "clients") return { name: "clients", make: (root) => new ClientsView(root) };
  return { name: "overview", make: (root) => new OverviewView(root) };
}

async function show() {
  if (!session.token) return;
  current?.dispose();
  const root = h("div", { class: "view" });
  $("#view").replaceChildren(root);
  const next = route();
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === next.name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = next.make(root);
  current = view;
  try {
    await view.load();
  } catch (error) {
    if (!(error instanceof SignedOut) && current === view) root.replaceChildren(h("p", { class: "error", text: `Could not read the farm: ${error.message}` }));
  }
}

function signOut(message = "") {
  feed?.stop();
  feed = null;
  current?.dispose();
  current = null;
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.name = "";
  $("#view").replaceChildren();
  $("#bar").hidden = true;
  $("#banner").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
  $("#token").value = "";
  $("#token").focus();
}

async function start() {
  // Who the token is: the role decides which actions are offered (the server checks every one).
  let who;
  try {
    who = await getJSON("/session");
  } catch (error) {
    if (!(error instanceof SignedOut)) signOut(`Could not reach the server: ${error.message}`);
    return;
  }
  session.name = who.name;
  session.role = who.role;
  $("#sign-in").hidden = true;
  $("#bar").hidden = false;
  $("#who").textContent = `${who.name} (${who.role})`;
  feed = new EventFeed((type, data) => current?.onEvent(type, data), () => show());
  feed.start();
  await show();
}

$("#sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("#token").value.trim();
  if (!token) return;
  session.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("#sign-in-error").textContent = "";
  await start();
});
$("#sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", () => show());

if (session.token) start();
else signOut();
