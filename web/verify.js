// Receipt verification in the browser, with nothing but the log's verifier key.
//
// Mirrors `provenance verify` (src/ledger/receipt.rs) check for check, in the same order and
// under the same names, so that both accept and reject the same receipts:
//   proof_format          the C2SP tlog-proof@v1 text
//   checkpoint_signature  the checkpoint's C2SP signed-note signature (Ed25519) and its body
//                         (C2SP tlog-checkpoint), whose origin must be the key's name
//   entry_signature       the entry's signed-note signature, its format line and its
//                         canonical JSON body
//   inclusion_proof       the audit path, recomputed from the entry's leaf hash up to the
//                         checkpoint's root (RFC 9162 section 2.1.3.2)
// plus two steps that `provenance verify` reports as unusable input (exit code 2):
//   receipt_format        a JSON object with string members "entry" and "proof"
//   verifier_key          the key text name+keyid+base64(0x01 || public key)
//
// Hashing is WebCrypto SHA-256; signatures are WebCrypto Ed25519.

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

const PROOF_HEADER = "c2sp.org/tlog-proof@v1";
const ENTRY_FORMAT_SUFFIX = "/entry/v1";
const MAX_ENTRY_BYTES = 65535;
const MAX_NOTE_BYTES = 1000000;
const MAX_NOTE_SIGNATURES = 100;
const ALG_ED25519 = 0x01;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

/** Entry kinds the log writes (src/ledger/entry.rs EntryKind). */
export const ENTRY_KINDS = [
  "operator_note",
  "work_registered",
  "work_license_changed",
  "work_preferences_changed",
  "attribution_recorded",
  "attribution_revoked",
  "attribution_disputed",
];

/** A failed check: `step` is the check's name, `message` says what was wrong. */
export class CheckFailed extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

// ---------------------------------------------------------------------------------------
// Bytes

/** Strict standard base64 with padding, as Rust's base64 STANDARD engine decodes it. */
export function base64Decode(text) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    return null;
  }
  let binary;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Non-zero trailing bits are refused, as in Rust: only the canonical encoding decodes.
  return base64Encode(bytes) === text ? bytes : null;
}

export function base64Encode(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** RFC 9162 leaf hash: SHA-256(0x00 || entry bytes). */
export function leafHash(entryBytes) {
  return sha256(concat(Uint8Array.of(0x00), entryBytes));
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

/** A canonical unsigned decimal (no sign, no leading zeros) that fits in 64 bits, or null. */
function parseU64(text) {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) return null;
  const value = BigInt(text);
  return value <= U64_MAX ? value : null;
}

// ---------------------------------------------------------------------------------------
// Keys and signed notes (C2SP signed-note)

/** Signed-note key names: non-empty, no white space, no plus sign. */
function validKeyName(name) {
  return name.length > 0 && !/[\s+]/u.test(name);
}

/** C2SP key ID: the first four bytes of SHA-256(name || 0x0A || 0x01 || public key). */
export async function keyId(name, algAndKey) {
  const digest = await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a), algAndKey));
  return new DataView(digest.buffer).getUint32(0);
}

/** Parses the verifier key text `name+keyid+base64(0x01 || public key)`. */
export async function parseVerifierKey(text) {
  const fail = (why) => {
    throw new CheckFailed("verifier_key", `the verifier key is unusable: ${why}`);
  };
  const trimmed = String(text ?? "").trim();
  const first = trimmed.indexOf("+");
  const second = first < 0 ? -1 : trimmed.indexOf("+", first + 1);
  if (second < 0) fail("it is not name+keyid+key");
  const name = trimmed.slice(0, first);
  const idText = trimmed.slice(first + 1, second);
  const key = base64Decode(trimmed.slice(second + 1));
  if (!/^[0-9a-fA-F]{8}$/.test(idText)) fail("the key ID is not 8 hexadecimal digits");
  if (!validKeyName(name)) fail("the name is empty or has spaces or plus signs");
  if (!key || key.length === 0) fail("the key is not base64");
  const id = parseInt(idText, 16);
  if (id !== (await keyId(name, key))) fail("the key ID does not match the key");
  if (key[0] !== ALG_ED25519) fail(`algorithm ${key[0]} is not Ed25519 (1)`);
  if (key.length !== 33) fail("an Ed25519 key is 32 bytes");
  let cryptoKey;
  try {
    cryptoKey = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, [
      "verify",
    ]);
  } catch (e) {
    fail(`this browser cannot use the Ed25519 key (${e.message})`);
  }
  return { text: trimmed, name, id, publicKey: key.slice(1), cryptoKey };
}

/**
 * Opens a signed note, requiring a valid signature by `key`; other signers' lines are
 * carried but not checked, as the signed-note specification says. Answers the note text
 * and the signature lines, each with what became of it.
 */
export async function openNote(noteBytes, key, step) {
  const fail = (why) => {
    throw new CheckFailed(step, why);
  };
  if (noteBytes.length > MAX_NOTE_BYTES) fail("malformed signed note: too large");
  let message;
  try {
    message = strictDecoder.decode(noteBytes);
  } catch {
    fail("malformed signed note: not UTF-8");
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(message)) {
    fail("malformed signed note: a control character other than a newline");
  }
  const split = message.lastIndexOf("\n\n");
  if (split < 0) fail("malformed signed note: no empty line before the signatures");
  const text = message.slice(0, split + 1);
  let sigBlock = message.slice(split + 2);
  if (!sigBlock.endsWith("\n")) fail("malformed signed note: the last line does not end");
  sigBlock = sigBlock.slice(0, -1);
  const lines = sigBlock.split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) fail("malformed signed note: too many signatures");
  const signatures = [];
  for (const line of lines) {
    if (!line.startsWith("\u2014 ")) fail("malformed signed note: a signature line lacks the dash");
    const rest = line.slice(2);
    const space = rest.indexOf(" ");
    if (space < 0) fail("malformed signed note: a signature line has no key name");
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    const raw = base64Decode(b64);
    if (!raw || b64.length === 0 || raw.length < 5) {
      fail("malformed signed note: a signature is not base64 or too short");
    }
    if (!validKeyName(name)) fail("malformed signed note: a signature's key name is invalid");
    const id = new DataView(raw.buffer).getUint32(0);
    signatures.push({ line, name, id, signature: raw.slice(4), status: "not checked (other key)" });
  }
  const textBytes = encoder.encode(text);
  let verified = 0;
  const seen = new Set();
  for (const sig of signatures) {
    if (sig.name !== key.name || sig.id !== key.id) continue;
    if (seen.has(`${sig.name}+${sig.id}`)) {
      sig.status = "repeated (ignored)";
      continue;
    }
    seen.add(`${sig.name}+${sig.id}`);
    const ok =
      sig.signature.length === 64 &&
      (await crypto.subtle.verify({ name: "Ed25519" }, key.cryptoKey, sig.signature, textBytes));
    if (!ok) {
      sig.status = "INVALID";
      fail(`invalid signature for key ${key.name}+${key.id.toString(16).padStart(8, "0")}`);
    }
    sig.status = "valid Ed25519 signature";
    verified += 1;
  }
  if (verified === 0) fail(`the note carries no signature by ${key.name}`);
  return { text, signatures };
}

// ---------------------------------------------------------------------------------------
// Canonical JSON (the entry body line), as src/ledger/entry.rs writes it

/** Compares strings by their UTF-8 bytes, as Rust orders `String`s. */
function utf8Compare(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** serde_json's formatting of a float (the ryu crate's shortest round-trip form). */
function formatFloat(value) {
  if (!Number.isFinite(value)) return "null";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const [mantissa, exp] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const length = digits.length;
  const kk = Number(exp) + 1; // position of the decimal point relative to the digits
  if (length <= kk && kk <= 16) return `${sign}${digits}${"0".repeat(kk - length)}.0`;
  if (0 < kk && kk <= 16) return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
  if (-5 < kk && kk <= 0) return `${sign}0.${"0".repeat(-kk)}${digits}`;
  const e = kk - 1;
  const head = length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  return `${sign}${head}e${e}`;
}

/**
 * A small JSON reader that keeps each number's text, so that integers keep their exact value
 * (as serde_json reads them) instead of becoming doubles.
 */
function readJson(text) {
  let at = 0;
  const fail = (why) => {
    throw new Error(`${why} at character ${at}`);
  };
  const ws = () => {
    while (at < text.length && " \t\n\r".includes(text[at])) at++;
  };
  const value = () => {
    ws();
    const c = text[at];
    if (c === "{") {
      at++;
      const entries = new Map();
      ws();
      if (text[at] === "}") {
        at++;
        return { type: "object", entries };
      }
      for (;;) {
        ws();
        if (text[at] !== '"') fail("expected a key");
        const key = string();
        ws();
        if (text[at] !== ":") fail("expected a colon");
        at++;
        const v = value();
        if (entries.has(key)) entries.delete(key); // the last one wins, as in serde_json
        entries.set(key, v);
        ws();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "}") {
          at++;
          return { type: "object", entries };
        }
        fail("expected a comma or a closing brace");
      }
    }
    if (c === "[") {
      at++;
      const items = [];
      ws();
      if (text[at] === "]") {
        at++;
        return { type: "array", items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "]") {
          at++;
          return { type: "array", items };
        }
        fail("expected a comma or a closing bracket");
      }
    }
    if (c === '"') return { type: "string", value: string() };
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ]) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return { type: "literal", value: v };
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at));
    if (!m) fail("expected a value");
    at += m[0].length;
    return { type: "number", text: m[0], integer: !m[2] && !m[3] };
  };
  const string = () => {
    const start = at;
    at++;
    for (;;) {
      if (at >= text.length) fail("unterminated string");
      const c = text[at];
      if (c === '"') break;
      if (c < " ") fail("a control character in a string");
      at += c === "\\" ? 2 : 1;
    }
    at++;
    const parsed = JSON.parse(text.slice(start, at));
    if (!parsed.isWellFormed()) fail("a lone surrogate in a string");
    return parsed;
  };
  const result = value();
  ws();
  if (at !== text.length) fail("trailing characters");
  return result;
}

function writeCanonical(node) {
  switch (node.type) {
    case "object": {
      const keys = [...node.entries.keys()].sort(utf8Compare);
      return `{${keys.map((k) => `${JSON.stringify(k)}:${writeCanonical(node.entries.get(k))}`).join(",")}}`;
    }
    case "array":
      return `[${node.items.map(writeCanonical).join(",")}]`;
    case "string":
      return JSON.stringify(node.value);
    case "literal":
      return JSON.stringify(node.value);
    case "number": {
      if (node.integer) {
        const v = BigInt(node.text);
        if (v >= I64_MIN && v <= U64_MAX && node.text !== "-0") return v.toString();
      }
      return formatFloat(Number(node.text));
    }
  }
  throw new Error("unknown JSON node");
}

/** Plain JavaScript values, for display. */
function toPlain(node) {
  switch (node.type) {
    case "object":
      return Object.fromEntries([...node.entries].map(([k, v]) => [k, toPlain(v)]));
    case "array":
      return node.items.map(toPlain);
    case "number":
      return Number(node.text);
    default:
      return node.value;
  }
}

// ---------------------------------------------------------------------------------------
// The checks

function parseProof(text) {
  const fail = (why) => {
    throw new CheckFailed("proof_format", `malformed proof: ${why}`);
  };
  const split = text.indexOf("\n\n");
  if (split < 0) fail("no empty line before the checkpoint");
  const head = text.slice(0, split).split("\n");
  const checkpointNote = text.slice(split + 2);
  let i = 0;
  if (head[i++] !== PROOF_HEADER) fail(`the first line is not ${PROOF_HEADER}`);
  let extra = null;
  if (head[i]?.startsWith("extra ")) {
    extra = base64Decode(head[i].slice(6));
    if (!extra) fail("the extra line is not base64");
    i++;
  }
  const indexLine = head[i++];
  if (!indexLine?.startsWith("index ")) fail("no index line");
  const indexText = indexLine.slice(6);
  if (!/^(0|[1-9][0-9]*)$/.test(indexText)) fail("the index is not a decimal without leading zeros");
  const index = parseU64(indexText);
  if (index === null) fail("the index does not fit in 64 bits");
  const path = head.slice(i).map((line) => {
    const bytes = base64Decode(line);
    if (!bytes) fail("an audit-path line is not base64");
    if (bytes.length !== 32) fail("an audit-path hash is not 32 bytes");
    return bytes;
  });
  return { index, path, extra, checkpointNote };
}

function parseCheckpointBody(text, key) {
  const fail = (why) => {
    throw new CheckFailed("checkpoint_signature", `malformed checkpoint: ${why}`);
  };
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) fail("fewer than three lines");
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin.length === 0) fail("the origin is empty");
  const size = parseU64(sizeText);
  if (size === null) fail("the tree size is not a decimal number");
  const root = base64Decode(rootText);
  if (!root || root.length !== 32) fail("the root hash is not 32 bytes of base64");
  if (extensions.some((l) => l.length === 0)) fail("an empty extension line");
  if (origin !== key.name) fail(`origin "${origin}" is not the key's name "${key.name}"`);
  return { origin, size, root, extensions };
}

function checkEntryText(text, key) {
  const fail = (why) => {
    throw new CheckFailed("entry_signature", `malformed entry: ${why}`);
  };
  const lines = (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
  const expected = `${key.name}${ENTRY_FORMAT_SUFFIX}`;
  if (lines[0] !== expected) fail(`first line is "${lines[0]}", expected "${expected}"`);
  if (lines.length < 2) fail("the entry has no body line");
  if (lines.length > 2) fail("the entry has more than two lines of text");
  let body;
  try {
    body = readJson(lines[1]);
  } catch (e) {
    fail(`body: ${e.message}`);
  }
  if (body.type !== "object") fail("body: not a JSON object");
  for (const k of body.entries.keys()) {
    if (!["kind", "issued_at", "data"].includes(k)) fail(`body: unknown field "${k}"`);
  }
  const kind = body.entries.get("kind");
  if (kind?.type !== "string" || !ENTRY_KINDS.includes(kind.value)) fail("body: unknown kind");
  const issuedAt = body.entries.get("issued_at");
  if (issuedAt?.type !== "string") fail("body: issued_at is not a string");
  const data = body.entries.get("data") ?? { type: "literal", value: null };
  const canonical = writeCanonical({
    type: "object",
    entries: new Map([
      ["kind", kind],
      ["issued_at", issuedAt],
      ["data", data],
    ]),
  });
  if (canonical !== lines[1]) fail("the body is not in canonical form");
  return { kind: kind.value, issuedAt: issuedAt.value, data: toPlain(data) };
}

/** How many hashes the audit path of leaf `index` in a tree of `size` leaves has. */
function auditPathLength(index, size) {
  let node = index;
  let width = size;
  let length = 0;
  while (width > 1n) {
    if ((node ^ 1n) < width) length++;
    node >>= 1n;
    width = (width + 1n) >> 1n;
  }
  return length;
}

/**
 * RFC 9162 section 2.1.3.2: recomputes the root from a leaf hash and its audit path,
 * recording each step. Answers { root, steps } or throws CheckFailed.
 */
export async function rootFromAuditPath(index, size, leaf, path) {
  const fail = (why) => {
    throw new CheckFailed("inclusion_proof", why);
  };
  if (index >= size) fail(`index ${index} is beyond the tree of size ${size}`);
  const expected = auditPathLength(index, size);
  if (path.length !== expected) {
    fail(`the audit path has ${path.length} hashes; a leaf at ${index} of ${size} needs ${expected}`);
  }
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  const steps = [];
  for (const p of path) {
    if (sn === 0n) fail("the audit path is longer than the tree is high");
    let side;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      side = "left";
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
      side = "right";
    }
    steps.push({ sibling: p, side, result: r });
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail("the audit path is shorter than the tree is high");
  return { root: r, steps };
}

/**
 * Verifies a receipt (its JSON text, or the parsed object) against a verifier key text.
 * Never throws: answers { ok, failedStep, message, steps[], facts }, where each step is
 * { id, title, ok, details[] } in the order the checks ran.
 */
export async function verifyReceipt(receiptInput, keyText) {
  const steps = [];
  const facts = {};
  let current = null;
  const begin = (id, title) => {
    current = { id, title, ok: null, details: [] };
    steps.push(current);
  };
  const note = (text) => current.details.push(text);
  const pass = () => {
    current.ok = true;
  };
  try {
    begin("receipt_format", "Read the receipt");
    let receipt = receiptInput;
    if (typeof receiptInput === "string") {
      try {
        receipt = JSON.parse(receiptInput);
      } catch (e) {
        throw new CheckFailed("receipt_format", `the receipt is not JSON: ${e.message}`);
      }
    }
    if (
      !receipt ||
      typeof receipt !== "object" ||
      Array.isArray(receipt) ||
      typeof receipt.entry !== "string" ||
      typeof receipt.proof !== "string"
    ) {
      throw new CheckFailed("receipt_format", 'the receipt needs string members "entry" and "proof"');
    }
    if (!receipt.entry.isWellFormed() || !receipt.proof.isWellFormed()) {
      throw new CheckFailed("receipt_format", "the receipt holds a lone surrogate");
    }
    const entryBytes = encoder.encode(receipt.entry);
    note(`entry: ${entryBytes.length} bytes; proof: ${receipt.proof.length} characters`);
    pass();

    begin("verifier_key", "Read the verifier key");
    const key = await parseVerifierKey(keyText);
    note(`name ${key.name}, key ID ${key.id.toString(16).padStart(8, "0")} = first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)`);
    note(`Ed25519 public key ${hex(key.publicKey)}`);
    pass();

    begin("proof_format", "Parse the tlog-proof");
    const proof = parseProof(receipt.proof);
    note(`index ${proof.index}, ${proof.path.length} audit-path hashes`);
    if (proof.extra) note(`extra data (${proof.extra.length} bytes, not trusted)`);
    facts.index = proof.index;
    pass();

    begin("checkpoint_signature", "Check the checkpoint's signature");
    const opened = await openNote(encoder.encode(proof.checkpointNote), key, "checkpoint_signature");
    for (const s of opened.signatures) note(`${s.name} ${s.id.toString(16).padStart(8, "0")}: ${s.status}`);
    const checkpoint = parseCheckpointBody(opened.text, key);
    note(`origin ${checkpoint.origin}, tree size ${checkpoint.size}, root ${base64Encode(checkpoint.root)}`);
    facts.treeSize = checkpoint.size;
    facts.root = checkpoint.root;
    pass();

    begin("entry_signature", "Check the entry's signature and format");
    if (entryBytes.length > MAX_ENTRY_BYTES) {
      throw new CheckFailed("entry_signature", `the entry is ${entryBytes.length} bytes; the limit is ${MAX_ENTRY_BYTES}`);
    }
    const entryNote = await openNote(entryBytes, key, "entry_signature");
    for (const s of entryNote.signatures) note(`${s.name} ${s.id.toString(16).padStart(8, "0")}: ${s.status}`);
    const body = checkEntryText(entryNote.text, key);
    note(`format line ${key.name}${ENTRY_FORMAT_SUFFIX}; canonical body; kind ${body.kind}, issued ${body.issuedAt}`);
    facts.kind = body.kind;
    facts.issuedAt = body.issuedAt;
    facts.data = body.data;
    pass();

    begin("inclusion_proof", "Recompute the Merkle audit path");
    const leaf = await leafHash(entryBytes);
    note(`leaf hash = SHA-256(0x00 || entry) = ${base64Encode(leaf)}`);
    const { root, steps: path } = await rootFromAuditPath(proof.index, checkpoint.size, leaf, proof.path);
    path.forEach((s, i) => {
      const order = s.side === "left" ? "sibling || node" : "node || sibling";
      note(`level ${i + 1}: sibling ${base64Encode(s.sibling)} on the ${s.side}; SHA-256(0x01 || ${order}) = ${base64Encode(s.result)}`);
    });
    note(`computed root ${base64Encode(root)}`);
    note(`checkpoint root ${base64Encode(checkpoint.root)}`);
    if (!equalBytes(root, checkpoint.root)) {
      throw new CheckFailed("inclusion_proof", "the audit path does not lead to the checkpoint's root");
    }
    pass();
    return { ok: true, failedStep: null, message: "valid", steps, facts };
  } catch (e) {
    const step = e instanceof CheckFailed ? e.step : current?.id ?? "receipt_format";
    if (current) {
      current.ok = false;
      current.details.push(e.message);
    }
    return { ok: false, failedStep: step, message: e.message, steps, facts };
  }
}
