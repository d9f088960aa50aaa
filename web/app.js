// Provenance Ledger pages: Check (uploaders), My works (rights holders), Ledger explorer
// (auditors). Plain JavaScript, no build step; every request goes to this service's own API.

import { verifyReceipt, base64Decode, base64Encode, hex } from "./verify.js";

const $ = (selector, root = document) => root.querySelector(selector);
const TOKEN_KEY = "provenance.token";

// ---------------------------------------------------------------------------------------
// Small helpers

/** Creates an element: el("p", {class: "x"}, "text", child, ...). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function showError(id, error) {
  const box = document.getElementById(id);
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = error.message ?? String(error);
  box.hidden = false;
}

/** An API failure, carrying the `message` and `error` code of the JSON error body. */
class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.message ?? `the service answered ${status}`);
    this.status = status;
    this.code = body?.error ?? "http_error";
    this.body = body;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, { json, auth = false, accept = "json" } = {}) {
  const headers = {};
  if (json !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  } catch (e) {
    throw new Error(`the service could not be reached (${e.message})`);
  }
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: fall back to the status
    }
    throw new ApiFailure(response.status, body);
  }
  return accept === "text" ? response.text() : response.json();
}

/** POSTs a multipart form with XMLHttpRequest, reporting upload progress (0..1). */
function upload(path, form, onProgress, { auth = false } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    if (auth && token()) xhr.setRequestHeader("Authorization", `Bearer ${token()}`);
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.upload.addEventListener("load", () => onProgress(1, true));
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiFailure(xhr.status, body));
    });
    xhr.addEventListener("error", () => reject(new Error("the upload failed: the service could not be reached")));
    xhr.addEventListener("abort", () => reject(new Error("the upload was cancelled")));
    xhr.send(form);
  });
}

function trackProgress(boxId, progressId, labelText) {
  const box = document.getElementById(boxId);
  const bar = document.getElementById(progressId);
  const label = box.querySelector("label");
  box.hidden = false;
  bar.value = 0;
  label.textContent = labelText;
  return {
    update(fraction, sent) {
      bar.value = Math.round(fraction * 100);
      label.textContent = sent ? "Uploaded; the service is checking the image…" : `${labelText} ${Math.round(fraction * 100)}%`;
    },
    done() {
      box.hidden = true;
    },
  };
}

/** Offers `data` as a JSON file download. */
function downloadJson(filename, data) {
  const blob = new Blob([JSON.stringify(data, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function copyText(text, label) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { class: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("#copy-status").textContent = `${label} copied to the clipboard.`;
}

/** ccREL terms of a licence contract, in words. */
const TERMS = {
  Reproduction: "copy it",
  Distribution: "share it",
  DerivativeWorks: "adapt it",
  Sharing: "share it non-commercially",
  Notice: "keep the copyright and licence notices",
  Attribution: "credit the creator",
  ShareAlike: "share adaptations under the same licence",
  SourceCode: "provide the source",
  CommercialUse: "use it commercially",
};
const terms = (list) => (list.length ? list.map((t) => TERMS[t] ?? t).join(", ") : "nothing");

function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString();
}

let licensesPromise = null;
function licenses() {
  licensesPromise ??= api("GET", "/v1/licenses").then((r) => r.licenses);
  licensesPromise.catch(() => {
    licensesPromise = null;
  });
  return licensesPromise;
}

// ---------------------------------------------------------------------------------------
// Account

let account = null;

async function refreshAccount() {
  account = null;
  if (token()) {
    try {
      account = await api("GET", "/v1/accounts/me", { auth: true });
    } catch (e) {
      if (e.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      showError("sign-in-error", e);
      $("#sign-in-box").open = true;
    }
  }
  $("#signed-in").hidden = !account;
  $("#sign-in-box").hidden = !!account;
  if (account) {
    $("#account-name").textContent = account.name;
    $("#account-role").textContent = account.role.replace("_", " ");
  }
  document.dispatchEvent(new CustomEvent("account-changed"));
}

function setUpAccount() {
  $("#sign-in").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("sign-in-error", null);
    sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
    $("#token").value = "";
    await refreshAccount();
    if (account) $("#sign-in-box").open = false;
  });
  $("#sign-out").addEventListener("click", async () => {
    sessionStorage.removeItem(TOKEN_KEY);
    await refreshAccount();
    $("#sign-in-box summary").focus();
  });
}

// ---------------------------------------------------------------------------------------
// Check: find works in an image, evaluate a use, credit, record

const DECISION_WORDS = {
  match: "This image is a registered work.",
  possible: "This image may be a registered work: a possible match, worth a closer look.",
  none: "No registered work was found in this image.",
};

function describeEvidence(evidence) {
  if (!evidence) return "";
  const turned = evidence.orientation && evidence.orientation !== "Identity" ? `, ${evidence.orientation}` : "";
  switch (evidence.kind) {
    case "exact_bytes":
      return "the very same file";
    case "pdq":
      return `visually the same (PDQ distance ${evidence.distance} of 256${turned})`;
    case "phash":
      return `visually similar (pHash distance ${evidence.distance} of 64${turned})`;
    case "local_features": {
      const [left, top, right, bottom] = evidence.work_region || [0, 0, 1, 1];
      const shown = Math.round((right - left) * (bottom - top) * 100);
      const turn = Math.abs(evidence.rotation_degrees) >= 0.5 ? `, turned ${evidence.rotation_degrees.toFixed(1)}°` : "";
      const support = evidence.aligned_by_appearance ? "its layout and colours line up" : `${evidence.inliers} matching details`;
      return `part of it: about ${shown}% of the work (${support}${turn})`;
    }
    default:
      return evidence.kind;
  }
}

const check = {
  file: null,
  objectUrl: null,
  answer: null,
  work: null,
  candidate: null,
};

function setUpCheck() {
  const zone = $("#dropzone");
  const input = $("#check-file");
  input.addEventListener("change", () => {
    if (input.files[0]) runCheck(input.files[0]);
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) runCheck(file);
  });
  for (const id of ["use-commercial", "use-adaptation", "use-adaptation-license", "use-changes", "use-medium"]) {
    document.getElementById(id).addEventListener("change", () => updateUse());
  }
  $("#use-form").addEventListener("submit", (e) => e.preventDefault());
  document.addEventListener("account-changed", () => {
    if (check.work) renderRecordBox();
  });
}

async function runCheck(file) {
  showError("check-error", null);
  $("#check-result").hidden = true;
  if (check.objectUrl) URL.revokeObjectURL(check.objectUrl);
  check.file = file;
  check.objectUrl = URL.createObjectURL(file);
  const form = new FormData();
  form.append("image", file, file.name);
  const progress = trackProgress("check-progress-box", "check-progress", `Uploading ${file.name}…`);
  try {
    check.answer = await upload("/v1/check", form, (f, sent) => progress.update(f, sent));
  } catch (e) {
    showError("check-error", e);
    return;
  } finally {
    progress.done();
  }
  renderCheck();
}

function renderCheck() {
  const answer = check.answer;
  const decision = $("#check-decision");
  decision.textContent = DECISION_WORDS[answer.decision] ?? answer.decision;
  decision.className = `decision ${answer.decision}`;
  const list = $("#matches");
  list.replaceChildren();
  const works = new Map(answer.works.map((w) => [w.id, w]));
  answer.candidates.slice(0, 5).forEach((candidate, i) => {
    const work = works.get(candidate.work_id);
    if (!work) return;
    const choose = el("input", {
      type: "radio",
      name: "chosen-work",
      value: String(work.id),
      id: `choose-${work.id}`,
      checked: i === 0,
      onchange: () => chooseWork(work, candidate),
    });
    const thumb = el("img", {
      src: `/v1/works/${work.id}/thumbnail`,
      alt: `Registered work: ${work.title}`,
      loading: "lazy",
    });
    const workFigure = el("figure", {}, thumb, el("figcaption", {}, `Work ${work.id}`));
    thumb.addEventListener("error", () => {
      workFigure.replaceChildren(el("div", { class: "missing" }, "No thumbnail stored"), el("figcaption", {}, `Work ${work.id}`));
    });
    list.append(
      el(
        "li",
        { class: "match-card" },
        el("figure", {}, el("img", { src: check.objectUrl, alt: `Your image: ${check.file.name}` }), el("figcaption", {}, "Your image")),
        workFigure,
        el(
          "div",
          { class: "about" },
          el("h3", {}, work.title),
          el("p", {}, `by ${work.creator}`, el("br"), `Licence: ${work.license}`),
          el("p", {}, el("span", { class: `badge ${candidate.decision}` }, candidate.decision), " ", describeEvidence(candidate.evidence)),
          work.source_url ? el("p", {}, el("a", { href: work.source_url, rel: "noopener noreferrer" }, "Where it is published")) : null,
          el("label", { class: "inline", for: `choose-${work.id}` }, choose, "I want to use this work"),
        ),
      ),
    );
  });
  if (answer.candidates.length === 0) {
    list.append(el("li", {}, "Nothing registered looks like this image."));
  }
  $("#check-result").hidden = false;
  const best = answer.candidates.find((c) => works.has(c.work_id));
  $("#use-box").hidden = !best;
  if (best) chooseWork(works.get(best.work_id), best);
  else check.work = null;
}

async function chooseWork(work, candidate) {
  check.work = work;
  check.candidate = candidate;
  try {
    const all = await licenses();
    const license = all.find((l) => l.id === work.license);
    const select = $("#use-adaptation-license");
    const previous = select.value;
    select.replaceChildren(el("option", { value: "" }, "Not chosen yet"));
    for (const id of license?.adaptation_licenses ?? []) {
      select.append(el("option", { value: id, selected: id === previous }, id));
    }
  } catch (e) {
    showError("check-error", e);
  }
  await updateUse();
  renderRecordBox();
}

function intendedUse() {
  const adapted = $("#use-adaptation").value === "adapted";
  const adaptationLicense = $("#use-adaptation-license").value;
  return {
    commercial: $("#use-commercial").checked,
    adaptation: adapted ? { kind: "adapted", ...(adaptationLicense ? { license: adaptationLicense } : {}) } : { kind: "verbatim" },
    medium: $("#use-medium").value,
  };
}

let useGeneration = 0;
async function updateUse() {
  const work = check.work;
  if (!work) return;
  const generation = ++useGeneration;
  $("#adapted-fields").hidden = $("#use-adaptation").value !== "adapted";
  const use = intendedUse();
  const changes = use.adaptation.kind === "adapted" ? $("#use-changes").value.trim() || "adapted" : undefined;
  const licenseBox = $("#license-box");
  const creditBox = $("#credit-box");
  try {
    const [license, verdict, credit] = await Promise.all([
      api("GET", `/v1/licenses/${encodeURIComponent(work.license)}`),
      api("POST", `/v1/licenses/${encodeURIComponent(work.license)}/evaluate`, {
        json: { ...use, ...(work.ai_preferences ? { content_usage: work.ai_preferences } : {}) },
      }),
      api("POST", `/v1/licenses/${encodeURIComponent(work.license)}/attribution`, {
        json: { title: work.title, creator: work.creator, source_url: work.source_url ?? null, changes: changes ?? null },
      }),
    ]);
    if (generation !== useGeneration) return;
    check.verdict = verdict;
    licenseBox.replaceChildren(renderLicense(license, verdict));
    creditBox.replaceChildren(...renderCredits(credit));
    showError("check-error", null);
  } catch (e) {
    if (generation !== useGeneration) return;
    showError("check-error", e);
  }
}

function renderLicense(license, verdict) {
  const title = verdict.allowed ? "You may use it this way" : "This use is not allowed";
  const link = license.deed_url ?? license.url;
  return el(
    "div",
    { class: `verdict ${verdict.allowed ? "allowed" : "refused"}`, id: "verdict" },
    el("h3", {}, `${title} under ${license.name}`),
    link ? el("p", {}, el("a", { href: link, rel: "noopener noreferrer" }, `Read ${license.short_name ?? license.id}`)) : null,
    el("p", {}, el("strong", {}, "Why: ")),
    el("ul", {}, verdict.reasons.map((r) => el("li", {}, r.message))),
    verdict.obligations.length
      ? [
          el("p", {}, el("strong", {}, "You must: ")),
          el(
            "ul",
            { id: "obligations" },
            verdict.obligations.map((o) => el("li", {}, o.message, o.licenses?.length ? ` (${o.licenses.join(", ")})` : "")),
          ),
        ]
      : null,
    el(
      "p",
      { class: "hint" },
      `The licence lets anyone ${terms(license.permits)}; it requires them to ${terms(license.requires)}${license.prohibits.length ? `; it forbids them to ${terms(license.prohibits)}` : ""}.`,
    ),
  );
}

const FORMATS = [
  ["text", "Plain text"],
  ["html", "HTML"],
  ["markdown", "Markdown"],
  ["wikitext", "Wikitext"],
];

function renderCredits(credit) {
  return FORMATS.map(([key, label]) =>
    el(
      "section",
      { class: "credit", "aria-label": `Credit line as ${label}` },
      el(
        "header",
        {},
        el("h3", {}, label),
        el("button", { type: "button", class: "secondary", onclick: () => copyText(credit[key], `The ${label} credit`) }, `Copy ${label}`),
      ),
      el("pre", { "data-format": key }, credit[key]),
    ),
  );
}

function renderRecordBox() {
  const box = $("#record-box");
  box.replaceChildren();
  if (!check.work) return;
  if (!account || account.role !== "publisher") {
    box.append(
      el("h2", {}, "Record this attribution"),
      el("p", {}, account ? `Recording needs a publisher's account; you are signed in as a ${account.role.replace("_", " ")}.` : "Sign in as a publisher (top right) to record this attribution in the ledger and keep a receipt."),
    );
    return;
  }
  const form = el(
    "form",
    { class: "stack", id: "record-form" },
    el("h2", {}, "Record this attribution"),
    el("p", { class: "hint" }, `Records your use of work ${check.work.id} as chosen above, signed into the public ledger. You get a receipt that proves it, checkable offline.`),
    el("label", { for: "record-url" }, "Where you publish it (URL, optional)"),
    el("input", { id: "record-url", type: "url", placeholder: "https://" }),
    el("button", { type: "submit" }, "Record this attribution"),
    el("p", { class: "error", id: "record-error", role: "alert", hidden: true }),
    el("div", { id: "record-result", role: "status" }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("record-error", null);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const use = intendedUse();
    const data = new FormData();
    data.append("image", check.file, check.file.name);
    data.append("work_id", String(check.work.id));
    data.append("commercial", String(use.commercial));
    data.append("adaptation", use.adaptation.kind);
    if (use.adaptation.license) data.append("adaptation_license", use.adaptation.license);
    if (use.adaptation.kind === "adapted" && $("#use-changes").value.trim()) data.append("changes", $("#use-changes").value.trim());
    data.append("medium", use.medium);
    const url = $("#record-url").value.trim();
    if (url) data.append("published_url", url);
    if (check.candidate?.decision !== "match") data.append("allow_unmatched", "true");
    try {
      const recorded = await upload("/v1/attributions", data, () => {}, { auth: true });
      const filename = `receipt-${recorded.index}.json`;
      $("#record-result").replaceChildren(
        el("p", { class: "outcome valid" }, `Recorded as attribution ${recorded.attribution?.id ?? recorded.index} (log entry ${recorded.index}).`),
        el("button", { type: "button", id: "download-receipt", onclick: () => downloadJson(filename, recorded.receipt) }, `Download the receipt (${filename})`),
        el("p", { class: "hint" }, "Keep it: anyone can check it in the Ledger explorer or with provenance verify."),
      );
    } catch (err) {
      const reasons = err.body?.reasons?.map((r) => r.message ?? r).join("; ");
      showError("record-error", reasons ? new Error(`${err.message}: ${reasons}`) : err);
    } finally {
      button.disabled = false;
    }
  });
  box.append(form);
}

// ---------------------------------------------------------------------------------------
// My works

function setUpWorks() {
  $("#register-form").addEventListener("submit", registerWork);
  $("#reg-license").addEventListener("change", describeChosenLicense);
  document.addEventListener("account-changed", renderWorksPage);
}

async function describeChosenLicense() {
  const all = await licenses().catch(() => []);
  const license = all.find((l) => l.id === $("#reg-license").value);
  $("#reg-license-summary").textContent = license
    ? `${license.name}: others may ${terms(license.permits)}; they must ${terms(license.requires)}${license.prohibits.length ? `; they may not ${terms(license.prohibits)}` : ""}.`
    : "";
}

async function renderWorksPage() {
  const signedIn = !!account;
  $("#works-signed-out").hidden = signedIn;
  $("#works-signed-in").hidden = !signedIn;
  if (!signedIn) return;
  if (account.role !== "rights_holder") {
    $("#works-signed-out").hidden = false;
    $("#works-signed-out").textContent = `You are signed in as a ${account.role.replace("_", " ")}; registering works needs a rights holder's account.`;
  } else {
    $("#works-signed-out").textContent = "";
  }
  const select = $("#reg-license");
  if (select.options.length === 0) {
    try {
      for (const l of await licenses()) {
        select.append(el("option", { value: l.id, selected: l.id === "CC-BY-4.0" }, `${l.name} (${l.id})`));
      }
      describeChosenLicense();
    } catch (e) {
      showError("register-error", e);
    }
  }
  await loadWorks();
}

async function registerWork(e) {
  e.preventDefault();
  showError("register-error", null);
  $("#register-result").replaceChildren();
  const form = e.target;
  const data = new FormData();
  const file = $("#reg-image").files[0];
  if (!file) {
    showError("register-error", new Error("choose the image of the work"));
    return;
  }
  data.append("image", file, file.name);
  for (const [field, id] of [
    ["title", "reg-title"],
    ["creator", "reg-creator"],
    ["source_url", "reg-source"],
    ["license", "reg-license"],
    ["external_id", "reg-external"],
  ]) {
    const value = document.getElementById(id).value.trim();
    if (value) data.append(field, value);
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const progress = trackProgress("reg-progress-box", "reg-progress", "Uploading…");
  try {
    const recorded = await upload("/v1/works", data, (f, sent) => progress.update(f, sent), { auth: true });
    $("#register-result").replaceChildren(
      el("p", { class: "outcome valid" }, `Registered “${recorded.work.title}” as work ${recorded.work.id}.`),
      el("button", { type: "button", class: "secondary", onclick: () => downloadJson(`receipt-${recorded.index}.json`, recorded.receipt) }, "Download the registration receipt"),
    );
    form.reset();
    $("#reg-license").value = recorded.work.license;
    await loadWorks();
  } catch (err) {
    showError("register-error", err);
  } finally {
    progress.done();
    button.disabled = false;
  }
}

async function loadWorks() {
  showError("works-error", null);
  const list = $("#works-list");
  let works;
  try {
    works = (await api("GET", `/v1/works?owner=${encodeURIComponent(account.name)}&limit=100`)).works;
  } catch (e) {
    showError("works-error", e);
    return;
  }
  list.replaceChildren();
  if (works.length === 0) list.append(el("li", {}, "No works registered yet."));
  for (const work of works.slice().reverse()) {
    const attributions = el("div", { class: "attribution-box" });
    const thumb = el("img", { src: `/v1/works/${work.id}/thumbnail`, alt: "", loading: "lazy" });
    thumb.addEventListener("error", () => thumb.replaceWith(el("div", { class: "missing" }, "no preview")));
    list.append(
      el(
        "li",
        { class: "work", "data-work": String(work.id) },
        thumb,
        el(
          "div",
          {},
          el("h3", {}, work.title),
          el("p", { class: "hint" }, `Work ${work.id} · ${work.creator} · ${work.license} · registered ${when(work.registered_at)}`),
          attributions,
        ),
      ),
    );
    loadAttributions(work, attributions);
  }
}

async function loadAttributions(work, box) {
  box.replaceChildren(el("p", { class: "hint" }, "Loading attributions…"));
  let attributions;
  try {
    attributions = (await api("GET", `/v1/works/${work.id}/attributions`)).attributions;
  } catch (e) {
    box.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  if (attributions.length === 0) {
    box.replaceChildren(el("p", { class: "hint" }, "No recorded uses yet."));
    return;
  }
  const disputes = attributions.filter((a) => a.state === "disputed").length;
  box.replaceChildren(
    el("p", {}, `${attributions.length} recorded use${attributions.length === 1 ? "" : "s"}${disputes ? `, ${disputes} disputed` : ""}:`),
    el("ul", { class: "attributions" }, attributions.map((a) => renderAttribution(work, a, box))),
  );
}

function renderAttribution(work, a, box) {
  const use = [
    a.use?.commercial ? "commercial" : "non-commercial",
    a.use?.adaptation?.kind === "adapted" ? `adapted${a.use.adaptation.license ? ` under ${a.use.adaptation.license}` : ""}` : "as it is",
    a.use?.medium,
  ]
    .filter(Boolean)
    .join(", ");
  const item = el(
    "li",
    { "data-attribution": String(a.id) },
    el("span", { class: `badge ${a.state}` }, a.state),
    " ",
    `Attribution ${a.id}: ${use}; recorded ${when(a.recorded_at)}`,
    a.published_url ? [" at ", el("a", { href: a.published_url, rel: "noopener noreferrer" }, a.published_url)] : null,
    el("br"),
    el("span", { class: "hint" }, `Credit: ${a.attribution?.text ?? ""}`),
    (a.history ?? []).filter((h) => h.reason).map((h) => el("p", { class: "hint" }, `${h.kind.replace(/_/g, " ")} (entry ${h.index}): ${h.reason}`)),
  );
  if (a.state === "active") {
    const reasonId = `dispute-reason-${a.id}`;
    const errorId = `dispute-error-${a.id}`;
    const form = el(
      "form",
      { class: "stack", hidden: true },
      el("label", { for: reasonId }, "Why do you dispute it?"),
      el("textarea", { id: reasonId, rows: 2, required: true }),
      el("div", { class: "row" }, el("button", { type: "submit" }, "Record the dispute"), el("button", { type: "button", class: "secondary", onclick: () => (form.hidden = true) }, "Cancel")),
      el("p", { class: "error", id: errorId, role: "alert", hidden: true }),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("POST", `/v1/attributions/${a.id}/dispute`, { json: { reason: document.getElementById(reasonId).value.trim() }, auth: true });
        await loadAttributions(work, box);
      } catch (err) {
        showError(errorId, err);
      }
    });
    const open = el("button", {
      type: "button",
      class: "secondary",
      onclick: () => {
        form.hidden = false;
        document.getElementById(reasonId).focus();
      },
    }, `Dispute attribution ${a.id}`);
    item.append(el("div", { class: "row" }, open), form);
  }
  return item;
}

// ---------------------------------------------------------------------------------------
// Ledger explorer

const ledger = { size: 0, loaded: false };

function setUpLedger() {
  $("#entry-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showEntry(Number($("#entry-index").value));
  });
  $("#entry-prev").addEventListener("click", () => showEntry(Math.max(0, Number($("#entry-index").value) - 1)));
  $("#entry-next").addEventListener("click", () => showEntry(Number($("#entry-index").value) + 1));
  $("#verify-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runVerify();
  });
  $("#receipt-file").addEventListener("change", async () => {
    const file = $("#receipt-file").files[0];
    if (!file) return;
    $("#receipt-text").value = await file.text();
    runVerify();
  });
  $("#receipt-fetch").addEventListener("click", async () => {
    showError("verify-error", null);
    const index = $("#receipt-index").value;
    if (index === "") {
      showError("verify-error", new Error("enter an entry index"));
      return;
    }
    try {
      const receipt = await api("GET", `/v1/log/receipts/${encodeURIComponent(index)}`);
      $("#receipt-text").value = JSON.stringify(receipt, null, 2);
      await runVerify();
    } catch (e) {
      showError("verify-error", e);
    }
  });
}

async function loadLedger() {
  showError("ledger-error", null);
  try {
    const [checkpoint, key, history] = await Promise.all([
      api("GET", "/log/checkpoint", { accept: "text" }),
      api("GET", "/log/key", { accept: "text" }),
      api("GET", "/v1/log/checkpoints?limit=500"),
    ]);
    const [origin, size, root] = checkpoint.split("\n");
    ledger.size = Number(size);
    $("#checkpoint-text").textContent = checkpoint;
    $("#checkpoint-facts").replaceChildren(
      el("dt", {}, "Origin"), el("dd", {}, origin),
      el("dt", {}, "Tree size"), el("dd", { id: "tree-size" }, size),
      el("dt", {}, "Root hash"), el("dd", {}, el("code", {}, root)),
      el("dt", {}, "Verifier key"), el("dd", {}, el("code", {}, key.trim())),
    );
    if (!$("#verifier-key").value) $("#verifier-key").value = key.trim();
    drawGrowth(history);
    if (!ledger.loaded && ledger.size > 0) {
      $("#entry-index").value = String(ledger.size - 1);
      showEntry(ledger.size - 1);
    }
    ledger.loaded = true;
  } catch (e) {
    showError("ledger-error", e);
  }
}

/** Draws the tree size over time as an inline SVG line chart. */
function drawGrowth(history) {
  const box = $("#growth-chart");
  const points = history
    .map((p) => ({ t: p.signed_at, n: p.tree_size }))
    .sort((a, b) => a.t - b.t || a.n - b.n);
  if (points.length === 0) {
    box.replaceChildren(el("p", { class: "hint" }, "No checkpoints yet."));
    return;
  }
  const W = 480, H = 200, L = 48, R = 12, T = 12, B = 32;
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const nMax = Math.max(1, ...points.map((p) => p.n));
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (n) => H - B - (n / nMax) * (H - T - B);
  // A step line: the size holds until the next checkpoint.
  let d = `M${x(points[0].t).toFixed(1)},${y(points[0].n).toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    d += ` H${x(points[i].t).toFixed(1)} V${y(points[i].n).toFixed(1)}`;
  }
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  const summary = `The log grew from ${points[0].n} to ${points[points.length - 1].n} entries over ${points.length} checkpoints, between ${when(t0)} and ${when(points[points.length - 1].t)}.`;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "growth-title growth-summary");
  add("title", {}, "Log size over time");
  add("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B });
  add("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B });
  add("path", { class: "area", d: `${d} V${H - B} H${x(points[0].t).toFixed(1)} Z` });
  add("path", { class: "line", d });
  add("text", { x: L - 6, y: y(nMax) + 4, "text-anchor": "end" }, String(nMax));
  add("text", { x: L - 6, y: H - B + 4, "text-anchor": "end" }, "0");
  const time = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  add("text", { x: L, y: H - 10, "text-anchor": "start" }, time(t0));
  add("text", { x: W - R, y: H - 10, "text-anchor": "end" }, time(t1));
  box.replaceChildren(svg, el("p", { class: "hint", id: "growth-summary" }, summary));
}

async function showEntry(index) {
  showError("entry-error", null);
  if (!Number.isInteger(index) || index < 0) {
    showError("entry-error", new Error("the index is a whole number from 0"));
    return;
  }
  $("#entry-index").value = String(index);
  try {
    const entry = await api("GET", `/v1/log/entries/${index}`);
    const lines = entry.entry.split("\n");
    let body = null;
    try {
      body = JSON.parse(lines[1]);
    } catch {
      // shown raw below
    }
    $("#entry-view").replaceChildren(
      el(
        "dl",
        { class: "facts" },
        el("dt", {}, "Index"), el("dd", {}, String(entry.index)),
        el("dt", {}, "Kind"), el("dd", { id: "entry-kind" }, body?.kind ?? "?"),
        el("dt", {}, "Issued"), el("dd", {}, body?.issued_at ?? "?"),
        el("dt", {}, "Leaf hash"), el("dd", {}, el("code", {}, entry.leaf_hash)),
      ),
      el("details", { open: true }, el("summary", {}, "Data"), el("pre", {}, JSON.stringify(body?.data, null, 2))),
      el("details", {}, el("summary", {}, "The signed note, exactly as logged"), el("pre", {}, entry.entry)),
      el("p", {}, el("button", { type: "button", class: "secondary", onclick: () => {
        $("#receipt-index").value = String(entry.index);
        $("#receipt-fetch").click();
        $("#receipt-text").scrollIntoView({ block: "center" });
      } }, `Verify entry ${entry.index} in this browser`)),
    );
  } catch (e) {
    $("#entry-view").replaceChildren();
    showError("entry-error", e);
  }
}

const STEP_TITLES = [
  ["receipt_format", "Read the receipt"],
  ["verifier_key", "Read the verifier key"],
  ["proof_format", "Parse the tlog-proof"],
  ["checkpoint_signature", "Check the checkpoint's signature"],
  ["entry_signature", "Check the entry's signature and format"],
  ["inclusion_proof", "Recompute the Merkle audit path"],
];

async function runVerify() {
  showError("verify-error", null);
  const result = await verifyReceipt($("#receipt-text").value, $("#verifier-key").value);
  const ran = new Map(result.steps.map((s) => [s.id, s]));
  const list = el(
    "ol",
    { class: "steps", id: "verify-steps" },
    STEP_TITLES.map(([id, title]) => {
      const step = ran.get(id);
      const state = !step ? "skipped" : step.ok ? "ok" : "failed";
      const mark = { ok: "✓ passed", failed: "✗ failed", skipped: "– not reached" }[state];
      return el(
        "li",
        { class: state, "data-step": id },
        el("span", { class: "mark" }, mark),
        `${title} `,
        el("code", {}, id),
        step?.details.length ? el("ul", {}, step.details.map((d) => el("li", {}, d))) : null,
      );
    }),
  );
  const outcome = result.ok
    ? el("p", { class: "outcome valid", id: "verify-outcome" }, `Valid: entry ${result.facts.index} (${result.facts.kind}) is in the log at tree size ${result.facts.treeSize}, and both signatures check.`)
    : el("p", { class: "outcome invalid", id: "verify-outcome", "data-failed-step": result.failedStep }, `Rejected at step ${result.failedStep}: ${result.message}`);
  $("#verify-result").replaceChildren(outcome, list);
  return result;
}

// The page's verifier, for tests and for anyone who wants it from the console.
window.provenance = { verifyReceipt, base64Decode, base64Encode, hex };

// ---------------------------------------------------------------------------------------
// Routing

const VIEWS = ["check", "works", "ledger"];

function route() {
  const name = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "check";
  for (const view of VIEWS) {
    $(`#view-${view}`).hidden = view !== name;
    const link = $(`nav a[data-view="${view}"]`);
    if (view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${$(`nav a[data-view="${name}"]`).textContent} · Provenance Ledger`;
  if (name === "ledger") loadLedger();
  if (name === "works") renderWorksPage();
  return name;
}

window.addEventListener("hashchange", () => {
  route();
  $("#main").focus();
});

setUpAccount();
setUpCheck();
setUpWorks();
setUpLedger();
route();
refreshAccount().then(() => document.documentElement.setAttribute("data-ready", "true"));
