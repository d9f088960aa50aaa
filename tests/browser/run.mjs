// Browser tests: a real `provenance serve` on SQLite in a temporary data directory, signed
// with the repository's test-only key, and Debian's Chromium driven by playwright-core
// through each page's journey. Also checks that the page's receipt verifier agrees with
// `provenance verify` on valid and tampered receipts.
//
//   cd tests/browser && npm ci && node run.mjs
//
// PROVENANCE_BIN names the binary (default: $CARGO_TARGET_DIR or target, then debug/provenance);
// CHROMIUM the browser (default /usr/bin/chromium). Screenshots go to target/browser-artifacts/.

import { spawn, spawnSync } from "node:child_process";
import { createPrivateKey, createHash, generateKeyPairSync, sign as edSign } from "node:crypto";
import { mkdtempSync, copyFileSync, chmodSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN =
  process.env.PROVENANCE_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "debug/provenance");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "target/browser-artifacts");
const FIXTURES = join(ROOT, "contracts/pdq-fixtures");
const TEST_KEY = join(ROOT, "keys/test-only/log.key");

for (const [what, path] of [["the provenance binary (cargo build; or set PROVENANCE_BIN)", BIN], ["Chromium (apt-get install chromium; or set CHROMIUM)", CHROMIUM]]) {
  if (!existsSync(path)) {
    console.error(`missing ${what}: ${path}`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------
// A tiny harness: named steps, all run, failures listed at the end.

const failures = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}\n     ${String(e.stack ?? e).split("\n").join("\n     ")}`);
  }
}

// ---------------------------------------------------------------------------------------
// The service

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
    server.on("error", fail);
  });
}

const dataDir = mkdtempSync(join(tmpdir(), "provenance-browser-"));
const databaseUrl = `sqlite://${join(dataDir, "provenance.db")}`;
const keyFile = join(dataDir, "log.key");
copyFileSync(TEST_KEY, keyFile);
chmodSync(keyFile, 0o600); // serve refuses a key others can read; git does not keep modes

function provenance(args, input) {
  const out = spawnSync(BIN, args, { encoding: "utf8", input, env: { ...process.env, PROVENANCE_LOG: "warn" } });
  if (out.error) throw out.error;
  return out;
}

function createAccount(name, role) {
  const out = provenance(["accounts", "create", "--name", name, "--role", role, "--database-url", databaseUrl, "--data-dir", dataDir]);
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.trim();
}

/** `provenance verify FILE --key KEY`: its exit code and the check it names. */
function cliVerify(receiptText, keyText) {
  const file = join(dataDir, `receipt-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, receiptText);
  const out = provenance(["verify", file, "--key", keyText]);
  rmSync(file);
  const check = /receipt check (\w+) failed/.exec(out.stderr)?.[1] ?? null;
  return { code: out.status, check, stderr: out.stderr.trim() };
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--database-url", databaseUrl, "--key-file", keyFile], {
  env: { ...process.env, PROVENANCE_LOG: "warn" },
  stdio: ["ignore", "ignore", "inherit"],
});
let serverExited = false;
server.on("exit", () => (serverExited = true));

async function waitForHealth() {
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    if (serverExited) throw new Error("provenance serve exited");
    if (Date.now() > deadline) throw new Error("provenance serve did not come up");
    await new Promise((r) => setTimeout(r, 100));
  }
}

let browser;
async function cleanUp() {
  await browser?.close().catch(() => {});
  if (!serverExited) server.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}

try {
  await waitForHealth();
} catch (e) {
  console.error(e.message);
  await cleanUp();
  process.exit(1);
}

const rightsHolder = createAccount("studio-north", "rights-holder");
const publisher = createAccount("daily-gazette", "publisher");
const operator = createAccount("ops", "operator");

/** Appends operator notes, so the tree has some height and the chart some history. */
async function appendNotes(count) {
  for (let i = 0; i < count; i++) {
    const reply = await fetch(`${base}/v1/log/entries`, {
      method: "POST",
      headers: { Authorization: `Bearer ${operator}`, "Content-Type": "application/json" },
      body: JSON.stringify({ text: `browser test note ${i}` }),
    });
    assert.equal(reply.status, 201, await reply.text());
  }
}
const verifierKey = (await (await fetch(`${base}/log/key`)).text()).trim();
const openapi = await (await fetch(`${base}/openapi.json`)).json();
assert.ok(openapi.paths["/v1/attributions"], "this build has no attribution API");

// ---------------------------------------------------------------------------------------
// The browser

browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
mkdirSync(ARTIFACTS, { recursive: true });

const problems = [];
async function newPage(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, baseURL: base });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();
  // Script errors and policy violations fail the run; a failed request the page reports to
  // the user as an API error is expected and not a problem.
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return page;
}

async function ready(page, hash) {
  await page.goto(`/${hash}`);
  await page.waitForSelector("html[data-ready=true]");
}

async function signIn(page, token) {
  await page.click("#sign-in-box summary");
  await page.fill("#token", token);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#signed-in:not([hidden])");
}

async function shoot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A copy as an uploader would make it: shrunk to 60% and saved as a JPEG, by Chromium. */
async function jpegCopy(pngPath) {
  const page = await browser.newPage();
  const b64 = readFileSync(pngPath).toString("base64");
  const jpeg = await page.evaluate(async (src) => {
    const img = new Image();
    img.src = `data:image/png;base64,${src}`;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(img.width * 0.6);
    canvas.height = Math.round(img.height * 0.6);
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.9).split(",")[1];
  }, b64);
  await page.close();
  return Buffer.from(jpeg, "base64");
}

await appendNotes(3);

const WORK = { title: "Chelsea the cat", creator: "Stefan van der Walt", license: "CC-BY-NC-4.0", source: "https://example.org/chelsea" };
let workId = null;
let attributionId = null;
let downloadedReceipt = null;

// ---------------------------------------------------------------------------------------
// My works (rights holder)

await step("My works: a rights holder signs in, registers a work with its licence and sees it listed with its thumbnail", async () => {
  const page = await newPage();
  await ready(page, "#works");
  assert.match(await page.textContent("#works-signed-out"), /Sign in/);
  await signIn(page, rightsHolder);
  assert.equal(await page.textContent("#account-name"), "studio-north");
  await page.waitForSelector("#reg-license option[value='CC-BY-NC-4.0']", { state: "attached" });
  await page.setInputFiles("#reg-image", join(FIXTURES, "chelsea.png"));
  await page.fill("#reg-title", WORK.title);
  await page.fill("#reg-creator", WORK.creator);
  await page.fill("#reg-source", WORK.source);
  await page.selectOption("#reg-license", WORK.license);
  assert.match(await page.textContent("#reg-license-summary"), /may not use it commercially/);
  await page.fill("#reg-external", "cat-0001");
  await page.click("#register-form button[type=submit]");
  const result = await page.waitForSelector("#register-result .outcome");
  const text = await result.textContent();
  const m = /as work (\d+)/.exec(text);
  assert.ok(m, text);
  workId = Number(m[1]);
  const card = await page.waitForSelector(`li.work[data-work='${workId}']`);
  assert.match(await card.textContent(), /Chelsea the cat/);
  assert.match(await card.textContent(), /CC-BY-NC-4\.0/);
  // The thumbnail loaded: an image of at most 256 pixels a side.
  const size = await page.waitForFunction((id) => {
    const img = document.querySelector(`li.work[data-work='${id}'] img`);
    return img && img.complete && img.naturalWidth > 0 && [img.naturalWidth, img.naturalHeight];
  }, workId);
  const [w, h] = await size.jsonValue();
  assert.ok(Math.max(w, h) <= 256 && Math.max(w, h) > 100, `${w}x${h}`);
  await page.close();
});

await step("My works: an API error is shown as the message it carries (the same image again)", async () => {
  const page = await newPage();
  await ready(page, "#works");
  await signIn(page, rightsHolder);
  await page.waitForSelector("#reg-license option", { state: "attached" });
  await page.setInputFiles("#reg-image", join(FIXTURES, "chelsea.png"));
  await page.fill("#reg-title", "Again");
  await page.fill("#reg-creator", "Someone");
  await page.click("#register-form button[type=submit]");
  const error = await page.waitForSelector("#register-error:not([hidden])");
  const shown = await error.textContent();
  const api = await (
    await fetch(`${base}/v1/works`, {
      method: "POST",
      headers: { Authorization: `Bearer ${rightsHolder}` },
      body: (() => {
        const f = new FormData();
        f.append("title", "Again");
        f.append("creator", "Someone");
        f.append("license", "CC-BY-4.0");
        f.append("image", new Blob([readFileSync(join(FIXTURES, "chelsea.png"))]), "chelsea.png");
        return f;
      })(),
    })
  ).json();
  assert.equal(api.error, "already_registered");
  assert.equal(shown, api.message);
  await page.close();
});

// ---------------------------------------------------------------------------------------
// Check (uploader)

const copy = await jpegCopy(join(FIXTURES, "chelsea.png"));

await step("Check: dropping a copy shows upload progress, the match side by side, the licence verdict for the chosen use and the credit lines", async () => {
  const page = await newPage();
  await ready(page, "#check");
  // Record what the progress label says while the upload runs.
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => window.__progress.push(document.querySelector("#check-progress-box label").textContent)).observe(
      document.querySelector("#check-progress-box"),
      { subtree: true, childList: true, characterData: true },
    );
  });
  // Drop the file on the drop zone, as a person dragging it from their desktop would.
  const dataTransfer = await page.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], "chelsea-copy.jpg", { type: "image/jpeg" }));
    return dt;
  }, copy.toString("base64"));
  await page.dispatchEvent("#dropzone", "drop", { dataTransfer });
  await page.waitForSelector("#check-result:not([hidden])");
  assert.equal(await page.textContent("#check-decision"), "This image is a registered work.");
  const progress = await page.evaluate(() => window.__progress);
  assert.ok(progress.some((t) => /100%|Uploaded/.test(t)), JSON.stringify(progress));

  const card = await page.waitForSelector(".match-card");
  assert.match(await card.textContent(), /Chelsea the cat/);
  assert.match(await card.textContent(), /Stefan van der Walt/);
  // Side by side: the upload (a blob: URL, never sent back) and the work's thumbnail.
  const images = await card.$$eval("img", (imgs) => imgs.map((i) => ({ src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0, alt: i.alt })));
  assert.equal(images.length, 2);
  assert.match(images[0].src, /^blob:/);
  assert.equal(images[1].src, `/v1/works/${workId}/thumbnail`);
  await page.waitForFunction(() => [...document.querySelectorAll(".match-card img")].every((i) => i.complete && i.naturalWidth > 0));

  // The default use (non-commercial, as it is, on the web) is allowed under CC BY-NC.
  await page.waitForSelector("#verdict.allowed");
  assert.match(await page.textContent("#verdict"), /You may use it this way/);
  assert.match(await page.textContent("#obligations"), /credit|attribut/i);
  // The credit line in every format, naming the work, its creator and its licence.
  const credits = await page.$$eval(".credit pre", (pres) => Object.fromEntries(pres.map((p) => [p.dataset.format, p.textContent])));
  assert.deepEqual(Object.keys(credits).sort(), ["html", "markdown", "text", "wikitext"]);
  for (const text of Object.values(credits)) {
    assert.match(text, /Chelsea the cat/);
    assert.match(text, /Stefan van der Walt/);
    assert.match(text, /BY-NC/);
  }
  assert.match(credits.html, /<a href="https:\/\/example.org\/chelsea"/);
  // Copy puts exactly the shown text on the clipboard.
  await page.click("text=Copy Markdown");
  await page.waitForFunction(() => /copied/.test(document.querySelector("#copy-status").textContent));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), credits.markdown);

  // A commercial use is refused by the NonCommercial licence, and the page says why.
  await page.check("#use-commercial");
  await page.waitForSelector("#verdict.refused");
  assert.match(await page.textContent("#verdict"), /not allowed/);
  assert.match(await page.textContent("#verdict"), /commercial/i);
  await page.uncheck("#use-commercial");
  // An adaptation under a licence the work's licence does not allow is refused too.
  await page.selectOption("#use-adaptation", "adapted");
  await page.waitForSelector("#adapted-fields:not([hidden])");
  await page.fill("#use-changes", "cropped");
  await page.selectOption("#use-adaptation-license", { index: 1 });
  await page.waitForSelector("#verdict");
  await page.waitForFunction(() => /cropped/.test(document.querySelector(".credit pre[data-format=text]").textContent));
  await page.selectOption("#use-adaptation", "verbatim");
  await page.waitForSelector("#verdict.allowed");
  await shoot(page, "check");
  await page.close();
});

await step("Check: an upload the service refuses shows the service's message", async () => {
  const page = await newPage();
  await ready(page, "#check");
  await page.setInputFiles("#check-file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not an image at all") });
  const error = await page.waitForSelector("#check-error:not([hidden])");
  assert.equal(await error.textContent(), "the content is not an image in any known format");
  await page.close();
});

await step("Check: a signed-in publisher records the attribution and downloads the receipt", async () => {
  const page = await newPage();
  await ready(page, "#check");
  await page.setInputFiles("#check-file", { name: "chelsea-copy.jpg", mimeType: "image/jpeg", buffer: copy });
  await page.waitForSelector("#verdict.allowed");
  assert.match(await page.textContent("#record-box"), /Sign in as a publisher/);
  await signIn(page, publisher);
  await page.waitForSelector("#record-form");
  await page.fill("#record-url", "https://gazette.example/2026/11/cats");
  // A use the licence forbids is refused by the service, and the page shows its message.
  await page.check("#use-commercial");
  await page.waitForSelector("#verdict.refused");
  const refused = await fetch(`${base}/v1/attributions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${publisher}` },
    body: (() => {
      const f = new FormData();
      f.append("image", new Blob([copy]), "chelsea-copy.jpg");
      f.append("work_id", String(workId));
      f.append("commercial", "true");
      f.append("medium", "web");
      return f;
    })(),
  });
  const refusal = await refused.json();
  assert.equal(refused.status, 422, JSON.stringify(refusal));
  await page.click("#record-form button[type=submit]");
  const error = await page.waitForSelector("#record-error:not([hidden])");
  assert.ok((await error.textContent()).startsWith(refusal.message), `${await error.textContent()} / ${refusal.message}`);
  await page.uncheck("#use-commercial");
  await page.waitForSelector("#verdict.allowed");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("#record-form button[type=submit]").then(() => page.click("#download-receipt")),
  ]);
  const outcome = await page.textContent("#record-result .outcome");
  attributionId = Number(/attribution (\d+)/.exec(outcome)[1]);
  assert.match(download.suggestedFilename(), /^receipt-\d+\.json$/);
  downloadedReceipt = readFileSync(await download.path(), "utf8");
  const receipt = JSON.parse(downloadedReceipt);
  assert.equal(typeof receipt.entry, "string");
  assert.match(receipt.entry, /"kind":"attribution_recorded"/);
  // The downloaded file is a receipt `provenance verify` accepts.
  const cli = cliVerify(downloadedReceipt, verifierKey);
  assert.equal(cli.code, 0, cli.stderr);
  await shoot(page, "check-recorded");
  await page.close();
});

await step("My works: the rights holder sees the recorded use and disputes it", async () => {
  const page = await newPage();
  await ready(page, "#works");
  await signIn(page, rightsHolder);
  const item = await page.waitForSelector(`li[data-attribution='${attributionId}']`);
  assert.match(await item.textContent(), /active/);
  assert.match(await item.textContent(), /gazette\.example/);
  await page.click(`text=Dispute attribution ${attributionId}`);
  await page.fill(`#dispute-reason-${attributionId}`, "This use was not agreed with us.");
  await page.click(`li[data-attribution='${attributionId}'] button[type=submit]`);
  await page.waitForFunction((id) => /disputed/.test(document.querySelector(`li[data-attribution='${id}']`)?.textContent ?? ""), attributionId);
  assert.match(await page.textContent(`li[data-attribution='${attributionId}']`), /not agreed with us/);
  assert.match(await page.textContent(`li.work[data-work='${workId}']`), /1 disputed/);
  await shoot(page, "works");
  await page.close();
});

// ---------------------------------------------------------------------------------------
// Ledger explorer (auditor)

await appendNotes(4);

await step("Ledger: the checkpoint, the growth chart and the entries are shown", async () => {
  const page = await newPage();
  await ready(page, "#ledger");
  const checkpoint = await (await fetch(`${base}/log/checkpoint`)).text();
  const size = checkpoint.split("\n")[1];
  await page.waitForSelector("#tree-size");
  assert.equal(await page.textContent("#tree-size"), size);
  assert.equal(await page.inputValue("#verifier-key"), verifierKey);
  const chart = await page.waitForSelector("#growth-chart svg[role=img]");
  assert.ok(await chart.$("path.line"));
  assert.match(await page.textContent("#growth-summary"), new RegExp(`to ${size} entries`));
  // The latest entry is shown first; browse back to the work's registration.
  await page.waitForSelector("#entry-kind");
  await page.fill("#entry-index", String(workId));
  await page.click("#entry-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#entry-kind")?.textContent === "work_registered");
  await page.click("#entry-next");
  await page.waitForFunction((id) => document.querySelector("#entry-index").value === String(id + 1), workId);
  // An index beyond the log shows the API's message.
  await page.fill("#entry-index", "999999");
  await page.click("#entry-form button[type=submit]");
  const error = await page.waitForSelector("#entry-error:not([hidden])");
  assert.equal(await error.textContent(), "entry 999999 not found");
  await page.close();
});

await step("Ledger: a receipt fetched by index verifies in the browser step by step, and a tampered one is rejected naming the step", async () => {
  const page = await newPage();
  await ready(page, "#ledger");
  await page.waitForSelector("#tree-size");
  await page.fill("#receipt-index", String(workId));
  await page.click("#receipt-fetch");
  const outcome = await page.waitForSelector("#verify-outcome");
  assert.match(await outcome.textContent(), new RegExp(`^Valid: entry ${workId} \\(work_registered\\)`));
  const steps = await page.$$eval("#verify-steps > li", (lis) => lis.map((li) => [li.dataset.step, li.className]));
  assert.deepEqual(steps, [
    ["receipt_format", "ok"],
    ["verifier_key", "ok"],
    ["proof_format", "ok"],
    ["checkpoint_signature", "ok"],
    ["entry_signature", "ok"],
    ["inclusion_proof", "ok"],
  ]);
  const merkle = await page.textContent("#verify-steps li[data-step=inclusion_proof]");
  assert.match(merkle, /leaf hash = SHA-256\(0x00 \|\| entry\)/);
  assert.match(merkle, /computed root/);

  // Change one character of the entry's body: its signature no longer holds.
  const receipt = JSON.parse(await page.inputValue("#receipt-text"));
  receipt.entry = receipt.entry.replace("Chelsea the cat", "Chelsea the dog");
  await page.fill("#receipt-text", JSON.stringify(receipt));
  await page.click("#verify-form button[type=submit]");
  await page.waitForSelector("#verify-outcome[data-failed-step=entry_signature]");
  assert.match(await page.textContent("#verify-outcome"), /^Rejected at step entry_signature: invalid signature/);
  assert.equal(await page.getAttribute("#verify-steps li[data-step=inclusion_proof]", "class"), "skipped");
  await shoot(page, "ledger-rejected");

  // A receipt file, as downloaded from the Check page, verifies too.
  const file = downloadedReceipt ?? JSON.stringify(await (await fetch(`${base}/v1/log/receipts/0`)).json());
  await page.setInputFiles("#receipt-file", { name: "receipt.json", mimeType: "application/json", buffer: Buffer.from(file) });
  await page.waitForSelector("#verify-outcome.valid");
  await page.fill("#receipt-index", String(workId));
  await page.click("#receipt-fetch");
  await page.waitForSelector("#verify-outcome.valid");
  await shoot(page, "ledger");
  await page.close();
});

// ---------------------------------------------------------------------------------------
// The page's verifier agrees with `provenance verify`

/** The test-only key's signer, to craft entries the log never wrote but its key signed. */
function testOnlySigner() {
  const parts = readFileSync(TEST_KEY, "utf8").trim().split("+");
  const [name, idHex, b64] = [parts[2], parts[3], parts.slice(4).join("+")];
  const seed = Buffer.from(b64, "base64").subarray(1);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  return (text) => {
    const sig = edSign(null, Buffer.from(text), key);
    return `${text}\n\u2014 ${name} ${Buffer.concat([Buffer.from(idHex, "hex"), sig]).toString("base64")}\n`;
  };
}

/** A fresh verifier key with the same name as ours: another log claiming our origin. */
function anotherLogsKey(name) {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const key = Buffer.concat([Buffer.of(1), raw]);
  const id = createHash("sha256").update(Buffer.concat([Buffer.from(`${name}\n`), key])).digest().subarray(0, 4);
  return `${name}+${id.toString("hex")}+${key.toString("base64")}`;
}

function flipChar(text, at) {
  const c = text[at];
  const swapped = c === "A" ? "B" : c === "0" ? "1" : c === "a" ? "b" : "A";
  return text.slice(0, at) + swapped + text.slice(at + 1);
}

function receiptCases(valid) {
  const { entry, proof } = valid;
  const [proofHead, checkpoint] = [proof.slice(0, proof.indexOf("\n\n")), proof.slice(proof.indexOf("\n\n") + 2)];
  const headLines = proofHead.split("\n");
  const cpSplit = checkpoint.lastIndexOf("\n\n");
  const entrySplit = entry.lastIndexOf("\n\n");
  const sign = testOnlySigner();
  const entryText = entry.slice(0, entrySplit + 1);
  const [formatLine, bodyLine] = entryText.slice(0, -1).split("\n");
  const body = JSON.parse(bodyLine);
  const cases = [
    ["valid", valid],
    ["entry body changed", { entry: entry.replace('"kind":"', '"kind":"x'), proof }],
    ["entry signature changed", { entry: flipChar(entry, entry.length - 10), proof }],
    ["entry signature removed", { entry: entry.slice(0, entrySplit + 2), proof }],
    ["entry signed by another name", { entry: entry.replace(/\u2014 \S+ /, "\u2014 someone.else/log "), proof }],
    ["checkpoint size changed", { entry, proof: proof.replace(/\n(\d+)\n/, (m, n) => `\n${Number(n) + 1}\n`) }],
    ["checkpoint root changed", { entry, proof: `${proofHead}\n\n${flipChar(checkpoint, checkpoint.indexOf("\n", checkpoint.indexOf("\n") + 1) + 3)}` }],
    ["checkpoint signature changed", { entry, proof: `${proofHead}\n\n${flipChar(checkpoint, checkpoint.length - 8)}` }],
    ["checkpoint with an extension line", { entry, proof: `${proofHead}\n\n${checkpoint.slice(0, cpSplit)}\nextension${checkpoint.slice(cpSplit)}` }],
    ["checkpoint re-signed by the key with an extension line", { entry, proof: `${proofHead}\n\n${sign(`${checkpoint.slice(0, cpSplit)}\nextension line\n`)}` }],
    ["checkpoint re-signed by the key for another origin", { entry, proof: `${proofHead}\n\n${sign(`other.example/log${checkpoint.slice(checkpoint.indexOf("\n"), cpSplit)}\n`)}` }],
    ["checkpoint re-signed by the key with a leading zero in the size", { entry, proof: `${proofHead}\n\n${sign(`${checkpoint.slice(0, cpSplit).replace(/\n(\d+)\n/, "\n0$1\n")}\n`)}` }],
    ["index changed", { entry, proof: proof.replace(/^index (\d+)$/m, (m, n) => `index ${Number(n) + 1}`) }],
    ["index with a leading zero", { entry, proof: proof.replace(/^index (\d+)$/m, "index 0$1") }],
    ["index beyond the tree", { entry, proof: proof.replace(/^index (\d+)$/m, "index 18446744073709551615") }],
    ["proof header changed", { entry, proof: proof.replace("tlog-proof@v1", "tlog-proof@v2") }],
    ["audit path hash changed", headLines.length > 2 ? { entry, proof: `${[...headLines.slice(0, 2), flipChar(headLines[2], 5), ...headLines.slice(3)].join("\n")}\n\n${checkpoint}` } : null],
    ["audit path hash removed", headLines.length > 2 ? { entry, proof: `${headLines.slice(0, -1).join("\n")}\n\n${checkpoint}` } : null],
    ["audit path hash added", { entry, proof: `${proofHead}\n${"A".repeat(43)}=\n\n${checkpoint}` }],
    ["audit path hash not base64", headLines.length > 2 ? { entry, proof: `${[...headLines.slice(0, 2), "!!!!", ...headLines.slice(3)].join("\n")}\n\n${checkpoint}` } : null],
    ["extra line (carried, not trusted)", { entry, proof: proof.replace("\nindex ", "\nextra aGVsbG8=\nindex ") }],
    ["non-canonical entry signed by the key", { entry: sign(`${formatLine}\n${JSON.stringify({ kind: body.kind, issued_at: body.issued_at, data: body.data })}\n`), proof }],
    ["entry with a wrong format line signed by the key", { entry: sign(`other.example/log/entry/v1\n${bodyLine}\n`), proof }],
    ["entry with a third line signed by the key", { entry: sign(`${formatLine}\n${bodyLine}\nmore\n`), proof }],
    ["entry of an unknown kind signed by the key", { entry: sign(`${formatLine}\n${bodyLine.replace(/"kind":"[a-z_]+"/, '"kind":"no_such_kind"')}\n`), proof }],
    ["canonical entry signed by the key but not in the log", { entry: sign(`${formatLine}\n${bodyLine.replace(/"issued_at":"[^"]+"/, '"issued_at":"2000-01-01T00:00:00Z"')}\n`), proof }],
    ["entry with an escaped character signed by the key", { entry: sign(`${formatLine}\n${bodyLine.replace('"kind"', '"\\u006bind"')}\n`), proof }],
    ["entry with a float signed by the key", { entry: sign(`${formatLine}\n${bodyLine.replace('{"data":{', '{"data":{"a":1.0,')}\n`), proof }],
  ];
  return cases.filter(([, r]) => r).map(([name, r]) => [name, JSON.stringify(r)]);
}

await step("Agreement: the page's verifier and `provenance verify` accept and reject the same receipts, at the same check", async () => {
  const page = await newPage();
  await ready(page, "#ledger");
  const size = Number((await (await fetch(`${base}/log/checkpoint`)).text()).split("\n")[1]);
  const receipts = [];
  for (let i = 0; i < size; i++) receipts.push([i, await (await fetch(`${base}/v1/log/receipts/${i}`)).json()]);
  const cases = [];
  for (const [i, r] of receipts) for (const [name, text] of receiptCases(r)) cases.push([`entry ${i}: ${name}`, text, verifierKey]);
  const otherKey = anotherLogsKey(verifierKey.split("+")[0]);
  cases.push(["another log's key", JSON.stringify(receipts[0][1]), otherKey]);
  cases.push(["a key with the wrong key id", JSON.stringify(receipts[0][1]), verifierKey.replace(/\+([0-9a-f]{8})\+/, "+00000000+")]);
  cases.push(["not JSON", "{not json", verifierKey]);
  cases.push(["no proof member", JSON.stringify({ entry: receipts[0][1].entry }), verifierKey]);
  const table = [];
  let valid = 0;
  for (const [name, text, key] of cases) {
    const cli = cliVerify(text, key);
    const web = await page.evaluate(([t, k]) => window.provenance.verifyReceipt(t, k).then((r) => ({ ok: r.ok, step: r.failedStep, message: r.message })), [text, key]);
    const cliSays = cli.code === 0 ? "valid" : cli.code === 1 ? `invalid at ${cli.check}` : "unusable input";
    const webSays = web.ok ? "valid" : ["receipt_format", "verifier_key"].includes(web.step) ? "unusable input" : `invalid at ${web.step}`;
    table.push({ case: name, cli: cliSays, browser: webSays, agree: cliSays === webSays, browserMessage: web.message, cliMessage: cli.stderr.split("\n").pop() });
    if (cli.code === 0) valid++;
  }
  writeFileSync(join(ARTIFACTS, "verifier-agreement.json"), JSON.stringify(table, null, 2));
  const disagreements = table.filter((r) => !r.agree);
  assert.deepEqual(disagreements, [], "the verifiers disagree");
  assert.ok(valid >= size, `${valid} valid receipts`);
  assert.ok(table.length - valid >= 18 * size, `${table.length - valid} rejected receipts`);
  console.log(`     ${table.length} receipts: ${valid} valid, ${table.length - valid} rejected; both verifiers agree on every one`);
  await page.close();
});

// ---------------------------------------------------------------------------------------
// Accessibility and small screens

await step("Accessibility: every control has a label, focus is visible, the pages work from the keyboard", async () => {
  const page = await newPage();
  await ready(page, "#check");
  await signIn(page, rightsHolder);
  for (const view of ["check", "works", "ledger"]) {
    await page.goto(`/#${view}`);
    await page.waitForSelector(`#view-${view}:not([hidden])`);
    await page.waitForTimeout(200);
    const unlabelled = await page.$$eval("input, select, textarea, button", (controls) =>
      controls
        .filter((c) => c.getClientRects().length > 0 || c.classList.contains("visually-hidden"))
        .filter((c) => !(c.labels?.length || c.getAttribute("aria-label") || (c.tagName === "BUTTON" && c.textContent.trim())))
        .map((c) => c.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, [], `${view}: controls without a label`);
  }
  // From the top of the Check page, the keyboard reaches the file chooser, with a visible focus.
  await page.goto("/#check");
  await page.waitForSelector("#view-check:not([hidden])");
  await page.evaluate(() => document.activeElement?.blur());
  let reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press("Tab");
    const focus = await page.evaluate(() => {
      const a = document.activeElement;
      const style = getComputedStyle(a.id === "check-file" ? document.querySelector("label[for=check-file]") : a);
      return { id: a.id, outline: style.outlineStyle, width: style.outlineWidth };
    });
    assert.notEqual(focus.outline, "none", `focus on #${focus.id} is not visible`);
    reached = focus.id === "check-file";
  }
  assert.ok(reached, "Tab never reached the file chooser");
  // The navigation works from the keyboard.
  await page.focus("nav a[data-view=ledger]");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-ledger:not([hidden])");
  assert.equal(await page.getAttribute("nav a[data-view=ledger]", "aria-current"), "page");
  await page.close();
});

await step("Small screens: at 375 pixels wide no page scrolls sideways (screenshots of each)", async () => {
  const page = await newPage({ width: 375, height: 812 });
  await ready(page, "#check");
  await page.setInputFiles("#check-file", { name: "chelsea-copy.jpg", mimeType: "image/jpeg", buffer: copy });
  await page.waitForSelector("#verdict.allowed");
  await signIn(page, rightsHolder);
  for (const view of ["check", "works", "ledger"]) {
    await page.goto(`/#${view}`);
    await page.waitForSelector(`#view-${view}:not([hidden])`);
    if (view === "ledger") {
      await page.waitForSelector("#growth-chart svg");
      await page.fill("#receipt-index", String(workId));
      await page.click("#receipt-fetch");
      await page.waitForSelector("#verify-outcome.valid");
    }
    if (view === "works") await page.waitForSelector("li.work img");
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > 375.5 && e.getClientRects().length)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}.${e.className}`)
        .slice(0, 5),
    );
    assert.ok(width <= 375, `${view} is ${width} pixels wide: ${wide.join(", ")}`);
    await shoot(page, `${view}-375`);
  }
  await page.close();
});

await step("No script errors or policy violations on any page", async () => {
  assert.deepEqual(problems, []);
});

// ---------------------------------------------------------------------------------------
// Viewport-sized pictures for docs/tour.md (target/browser-artifacts/tour/), made only when
// everything passed. Not a test: the steps above assert what these show.

async function tourPictures() {
  const dir = join(ARTIFACTS, "tour");
  mkdirSync(dir, { recursive: true });
  const page = await newPage({ width: 1000, height: 760 });
  await ready(page, "#check");
  await signIn(page, publisher);
  await page.setInputFiles("#check-file", { name: "chelsea-copy.jpg", mimeType: "image/jpeg", buffer: copy });
  await page.waitForSelector("#verdict.allowed");
  await page.waitForFunction(() => [...document.querySelectorAll(".match-card img")].every((i) => i.complete && i.naturalWidth > 0));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(dir, "check-match.png") });
  await page.locator("#license-box").scrollIntoViewIfNeeded();
  await page.evaluate(() => document.querySelector("#license-box").scrollIntoView({ block: "start" }));
  await page.screenshot({ path: join(dir, "check-licence-credit.png") });
  await page.evaluate(() => document.querySelector("#record-box").scrollIntoView({ block: "end" }));
  await page.click("#record-form button[type=submit]");
  await page.waitForSelector("#download-receipt");
  await page.evaluate(() => document.querySelector("#record-box").scrollIntoView({ block: "center" }));
  await page.screenshot({ path: join(dir, "check-recorded.png") });
  await page.click("#sign-out");
  await signIn(page, rightsHolder);
  await page.goto("/#works");
  await page.waitForSelector("li[data-attribution]");
  await page.evaluate(() => document.querySelector("#works-list").scrollIntoView({ block: "start" }));
  await page.evaluate(() => window.scrollBy(0, -60));
  await page.screenshot({ path: join(dir, "works.png") });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(dir, "works-register.png") });
  await page.goto("/#ledger");
  await page.waitForSelector("#growth-chart svg");
  await page.waitForSelector("#entry-kind");
  await page.screenshot({ path: join(dir, "ledger.png") });
  await page.fill("#receipt-index", String(workId));
  await page.click("#receipt-fetch");
  await page.waitForSelector("#verify-outcome.valid");
  await page.locator("#verify-result").screenshot({ path: join(dir, "ledger-verified.png") });
  const receipt = JSON.parse(await page.inputValue("#receipt-text"));
  receipt.proof = receipt.proof.replace(/^index (\d+)$/m, (m, n) => `index ${Number(n) + 1}`);
  await page.fill("#receipt-text", JSON.stringify(receipt));
  await page.click("#verify-form button[type=submit]");
  await page.waitForSelector("#verify-outcome.invalid");
  await page.locator("#verify-result").screenshot({ path: join(dir, "ledger-rejected.png") });
  await page.close();
  const phone = await newPage({ width: 375, height: 740 });
  await ready(phone, "#check");
  await phone.setInputFiles("#check-file", { name: "chelsea-copy.jpg", mimeType: "image/jpeg", buffer: copy });
  await phone.waitForSelector("#verdict.allowed");
  await phone.evaluate(() => document.querySelector("#check-decision").scrollIntoView({ block: "start" }));
  await phone.screenshot({ path: join(dir, "check-phone.png") });
  await phone.close();
}

if (failures.length === 0) {
  try {
    await tourPictures();
  } catch (e) {
    console.log(`(tour pictures not made: ${e.message})`);
  }
}

await cleanUp();
if (failures.length) {
  console.log(`\n${failures.length} failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`\nall passed; screenshots in ${ARTIFACTS}`);
