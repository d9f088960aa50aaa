#!/usr/bin/env python3
"""Recomputes every value of the worked example in docs/ledger.md and asserts it.

Needs only the standard library (hashlib, base64, json). If the `cryptography` module is
importable, the Ed25519 signatures are checked too (and, because Ed25519 signing is
deterministic, re-created byte for byte from the committed TEST-ONLY key).

If docs/ledger.md sits next to this script, every example value below must also appear in it
verbatim, so the document and this script cannot drift apart silently.

Prints one OK line per check; exits 1 if any check fails.

The example was produced by `provenance serve` with the committed TEST-ONLY key
(keys/test-only/log.key) and three operator notes appended one at a time, so the log signed
checkpoints at sizes 0 (on first start), 1, 2 and 3.
"""

import base64
import hashlib
import json
import os
import sys

# --------------------------------------------------------------------------------------------
# The example's values, exactly as the service returned them.
# --------------------------------------------------------------------------------------------

ORIGIN = "test-only.invalid/provenance"

# TEST-ONLY: this key pair is public (committed under keys/test-only/). It proves nothing.
PRIVATE_KEY = "PRIVATE+KEY+test-only.invalid/provenance+b6e36942+Ae7a646Kq4e+k1Akz2UvK1QSCp0ZDC+XPMfvRG8rQntQ"
VERIFIER_KEY = "test-only.invalid/provenance+b6e36942+AT9nmybyGd0d5Y2GQcXYrZCEF3ak69i30AfaD2asSXoz"
KEY_ID_HEX = "b6e36942"
PUBLIC_KEY_HEX = "3f679b26f219dd1de58d8641c5d8ad90841776a4ebd8b7d007da0f66ac497a33"

OPERATOR = "ops"
ISSUED_AT = "2026-11-26T18:38:00Z"
NOTE_TEXTS = [
    "Ledger opened for the worked example.",
    "Second note: nothing to report.",
    "Third note: example complete.",
]
BODY_LINES = [
    '{"data":{"operator":"ops","text":"Ledger opened for the worked example."},"issued_at":"2026-11-26T18:38:00Z","kind":"operator_note"}',
    '{"data":{"operator":"ops","text":"Second note: nothing to report."},"issued_at":"2026-11-26T18:38:00Z","kind":"operator_note"}',
    '{"data":{"operator":"ops","text":"Third note: example complete."},"issued_at":"2026-11-26T18:38:00Z","kind":"operator_note"}',
]
# base64(key ID || Ed25519 signature) of the log's signature line on each entry note.
ENTRY_SIGNATURES = [
    "tuNpQraKHPRHSc8k9zcX518XWy1jLZiXvxZONOs8ph+fj8UhaAFmAjIqY4SFfnz+w9I676v86JKDRZxFELZ3oTbLZA0=",
    "tuNpQljH9hDzdn6saEKHZWH0r46yG5R6Nyrp3/9s1M0RADr/gzZOnJ/oUjnRN4FLLg79YBIFryWo2KpFIWn7g7sf+Ao=",
    "tuNpQpcQo6puS4RjhbDpHXLfo7M/L5q5dT6vdj1ZdQX8BnP0Nzzuas2QqJ+Azh0cwwr2D/sKocGiC3cSkIWqh6aa9wY=",
]
ENTRY_SIZES = [298, 292, 290]

# The entries as served by GET /v1/log/entries/{index} ("entry" field): the leaf data.
ENTRIES = [
    "test-only.invalid/provenance/entry/v1\n"
    + BODY_LINES[i]
    + "\n\n\u2014 test-only.invalid/provenance "
    + ENTRY_SIGNATURES[i]
    + "\n"
    for i in range(3)
]

LEAF_HASHES_HEX = [
    "cb2043a5d65849a384bf42164b53afa82a3f3b506fd19f3488bba35b68f49287",
    "2df05cca1c41fbadcd72f9a318e682d4ac3a7ef7f81dbe5bd981e22d4d58a6ba",
    "5a87a53bb75649fc761bcf283f63aee012fc02bb4b0d8055944a31c1bad8a3b8",
]
LEAF_HASHES_B64 = [
    "yyBDpdZYSaOEv0IWS1OvqCo/O1Bv0Z80iLujW2j0koc=",
    "LfBcyhxB+63NcvmjGOaC1Kw6fvf4Hb5b2YHiLU1Ypro=",
    "WoelO7dWSfx2G88oP2Ou4BL8ArtLDYBVlEoxwbrYo7g=",
]
NODE_01_HEX = "e118c255d5060b5965c467b91b02e5f5bcf0dd1a770c1926101fda8fd333a94e"
NODE_01_B64 = "4RjCVdUGC1llxGe5GwLl9bzw3Rp3DBkmEB/aj9MzqU4="

# Root hash of the tree at each signed size.
ROOTS_HEX = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "cb2043a5d65849a384bf42164b53afa82a3f3b506fd19f3488bba35b68f49287",
    2: "e118c255d5060b5965c467b91b02e5f5bcf0dd1a770c1926101fda8fd333a94e",
    3: "8dc06edd622a7593ef7dc69138274b3720381bb9ddc73964a7efa68db1bd88a4",
}
ROOTS_B64 = {
    0: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    1: "yyBDpdZYSaOEv0IWS1OvqCo/O1Bv0Z80iLujW2j0koc=",
    2: "4RjCVdUGC1llxGe5GwLl9bzw3Rp3DBkmEB/aj9MzqU4=",
    3: "jcBu3WIqdZPvfcaROCdLNyA4G7ndxzlkp++mjbG9iKQ=",
}
CHECKPOINT_SIGNATURES = {
    0: "tuNpQk2vtbaIneahPhsPuhM+biSIWIzExWyMslSGquJpuxEkLBm2mcebJBxvOOKU3Mng23U2bunFhTpJeoahafOXAQ0=",
    1: "tuNpQjq3OsRLf8WV7Vzuz1QO3HRF9lRpFwQsmeDrWYZKp4E9meNo6tVvWZ7gFBjRUVeaA2v+AxtSZRTfJqcav1L45Aw=",
    2: "tuNpQg3kL0TqP8rAW05Svq4b73mqYPSZ4BTArOLsm0wiVf6Oup+k7Gm1XLveRJgbe/+t+EaO/Nb9OgBwUf6YgYeg/gA=",
    3: "tuNpQthk38HndjT91lbJKqrsQkNTP3UFN99TQZkr3CgV6mUuCqG10GFNpPRuN4zj0aqzzVChJ39eyNgzxgPGvwvgPAQ=",
}
# The checkpoints as served (GET /log/checkpoint served size 3).
CHECKPOINTS = {
    size: f"{ORIGIN}\n{size}\n{ROOTS_B64[size]}\n\n\u2014 {ORIGIN} {CHECKPOINT_SIGNATURES[size]}\n"
    for size in ROOTS_B64
}
CHECKPOINT_3_LITERAL = (
    "test-only.invalid/provenance\n"
    "3\n"
    "jcBu3WIqdZPvfcaROCdLNyA4G7ndxzlkp++mjbG9iKQ=\n"
    "\n"
    "\u2014 test-only.invalid/provenance tuNpQthk38HndjT91lbJKqrsQkNTP3UFN99TQZkr3CgV6mUuCqG10GFNpPRuN4zj0aqzzVChJ39eyNgzxgPGvwvgPAQ=\n"
)

# GET /v1/log/proof/inclusion?index=0&tree_size=3
INCLUSION_0_OF_3 = [
    "LfBcyhxB+63NcvmjGOaC1Kw6fvf4Hb5b2YHiLU1Ypro=",
    "WoelO7dWSfx2G88oP2Ou4BL8ArtLDYBVlEoxwbrYo7g=",
]
# The other audit paths in the size-3 tree (index 1 from its receipt, index 2 from its append).
INCLUSION_1_OF_3 = [
    "yyBDpdZYSaOEv0IWS1OvqCo/O1Bv0Z80iLujW2j0koc=",
    "WoelO7dWSfx2G88oP2Ou4BL8ArtLDYBVlEoxwbrYo7g=",
]
INCLUSION_2_OF_3 = ["4RjCVdUGC1llxGe5GwLl9bzw3Rp3DBkmEB/aj9MzqU4="]

# GET /v1/log/proof/consistency?old_size=1&new_size=3 (and the other pairs).
CONSISTENCY_1_TO_3 = [
    "LfBcyhxB+63NcvmjGOaC1Kw6fvf4Hb5b2YHiLU1Ypro=",
    "WoelO7dWSfx2G88oP2Ou4BL8ArtLDYBVlEoxwbrYo7g=",
]
CONSISTENCY_1_TO_2 = ["LfBcyhxB+63NcvmjGOaC1Kw6fvf4Hb5b2YHiLU1Ypro="]
CONSISTENCY_2_TO_3 = ["WoelO7dWSfx2G88oP2Ou4BL8ArtLDYBVlEoxwbrYo7g="]

# GET /v1/log/receipts/1: the "proof" member (the "entry" member is ENTRIES[1]).
RECEIPT_1_PROOF = (
    "c2sp.org/tlog-proof@v1\n"
    "index 1\n"
    "yyBDpdZYSaOEv0IWS1OvqCo/O1Bv0Z80iLujW2j0koc=\n"
    "WoelO7dWSfx2G88oP2Ou4BL8ArtLDYBVlEoxwbrYo7g=\n"
    "\n"
    "test-only.invalid/provenance\n"
    "3\n"
    "jcBu3WIqdZPvfcaROCdLNyA4G7ndxzlkp++mjbG9iKQ=\n"
    "\n"
    "\u2014 test-only.invalid/provenance tuNpQthk38HndjT91lbJKqrsQkNTP3UFN99TQZkr3CgV6mUuCqG10GFNpPRuN4zj0aqzzVChJ39eyNgzxgPGvwvgPAQ=\n"
)

# GET /log/tile/0/000.p/3 (96 bytes) and GET /log/tile/entries/000.p/3 (886 bytes).
TILE_0_000_P3_LEN = 96
BUNDLE_000_P3_LEN = 886
BUNDLE_000_P3_SHA256 = "afa7b7f722272e0ab7200a67332df43dcabc846977577dd4f9be5d6e2559420b"
BUNDLE_PREFIXES_HEX = ["012a", "0124", "0122"]

# Tile path examples: (level or "entries", tile index, width) -> path below /log/.
TILE_PATHS = [
    ((0, 0, 3), "tile/0/000.p/3"),
    (("entries", 0, 3), "tile/entries/000.p/3"),
    ((0, 0, 256), "tile/0/000"),
    ((0, 1234067, 256), "tile/0/x001/x234/067"),
    ((1, 1, 17), "tile/1/001.p/17"),
    (("entries", 1000, 256), "tile/entries/x001/000"),
]

# --------------------------------------------------------------------------------------------
# Checking.
# --------------------------------------------------------------------------------------------

failures = 0
doc_values = []  # strings that must also appear verbatim in docs/ledger.md


def check(ok, what):
    global failures
    if ok:
        print(f"OK   {what}")
    else:
        failures += 1
        print(f"FAIL {what}")


def b64d(s):
    return base64.b64decode(s, validate=True)


def b64e(b):
    return base64.b64encode(b).decode()


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def split_point(n):
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 9162 Merkle Tree Hash over a list of leaf hashes."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m, leaves):
    """RFC 9162 PATH(m, D[n]), leaf's sibling first."""
    if len(leaves) <= 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def consistency_proof(m, leaves):
    """RFC 9162 PROOF(m, D[n])."""

    def subproof(m, d, b):
        n = len(d)
        if m == n:
            return [] if b else [mth(d)]
        k = split_point(n)
        if m <= k:
            return subproof(m, d[:k], b) + [mth(d[k:])]
        return subproof(m - k, d[k:], False) + [mth(d[:k])]

    if m == 0 or m == len(leaves):
        return []
    return subproof(m, leaves, True)


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old_root, new_root, proof):
    """RFC 9162 section 2.1.4.2, for 0 < m < n."""
    if not 0 < m < n or not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # m is a power of two: the old root is itself a node of the path
        path = [old_root] + path
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def tile_index_path(n):
    """tlog-tiles index encoding: 3-digit groups, every group but the last prefixed with x."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n > 0:
        groups.insert(0, f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(groups)


def tile_path(level, index, width):
    path = f"tile/{level}/{tile_index_path(index)}"
    return path if width == 256 else f"{path}.p/{width}"


def split_note(note):
    """A signed note: (text, [(name, key id bytes, signature bytes)])."""
    text, sep, sigs = note.rpartition("\n\n")
    assert sep, "no blank line"
    text += "\n"
    out = []
    for line in sigs.split("\n")[:-1]:
        dash, name, sig = line.split(" ")
        assert dash == "\u2014", "signature lines start with U+2014"
        raw = b64d(sig)
        out.append((name, raw[:4], raw[4:]))
    assert sigs.endswith("\n")
    return text, out


# 1. Keys ----------------------------------------------------------------------------------

name, key_id, key_b64 = VERIFIER_KEY.split("+", 2)
key_bytes = b64d(key_b64)
check(name == ORIGIN, "the verifier key's name is the origin")
check(len(key_bytes) == 33 and key_bytes[0] == 0x01, "verifier key = 0x01 || 32-byte key")
public_key = key_bytes[1:]
check(public_key.hex() == PUBLIC_KEY_HEX, f"public key = {PUBLIC_KEY_HEX}")
computed_id = sha256(ORIGIN.encode() + b"\x0a" + b"\x01" + public_key)[:4].hex()
check(computed_id == key_id == KEY_ID_HEX, f"key ID = SHA-256(name || 0x0A || 0x01 || key)[:4] = {computed_id}")
parts = PRIVATE_KEY.split("+", 4)
check(parts[:2] == ["PRIVATE", "KEY"] and parts[2] == ORIGIN and parts[3] == KEY_ID_HEX,
      "private-key text is PRIVATE+KEY+<name>+<key id>+...")
seed = b64d(parts[4])
check(len(seed) == 33 and seed[0] == 0x01, "private key = 0x01 || 32-byte seed")
doc_values += [VERIFIER_KEY, PRIVATE_KEY, KEY_ID_HEX, PUBLIC_KEY_HEX]

# 2. Entry notes ---------------------------------------------------------------------------

entries = [e.encode("utf-8") for e in ENTRIES]
for i, text in enumerate(NOTE_TEXTS):
    body = {"kind": "operator_note", "issued_at": ISSUED_AT,
            "data": {"text": text, "operator": OPERATOR}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    check(canonical == BODY_LINES[i], f"entry {i}: body line is canonical JSON")
    note_text = f"{ORIGIN}/entry/v1\n{canonical}\n"
    text_part, sigs = split_note(ENTRIES[i])
    check(text_part == note_text, f"entry {i}: note text = format line + body line")
    check(len(sigs) == 1 and sigs[0][0] == ORIGIN and sigs[0][1].hex() == KEY_ID_HEX
          and len(sigs[0][2]) == 64, f"entry {i}: one signature line, key ID {KEY_ID_HEX}, 64-byte signature")
    check(len(entries[i]) == ENTRY_SIZES[i] <= 65535, f"entry {i}: {ENTRY_SIZES[i]} bytes (limit 65,535)")
    doc_values += [BODY_LINES[i], ENTRY_SIGNATURES[i], str(ENTRY_SIZES[i])]
doc_values += [ENTRIES[0]]

# 3. Tree ----------------------------------------------------------------------------------

leaves = [leaf_hash(e) for e in entries]
for i in range(3):
    check(leaves[i].hex() == LEAF_HASHES_HEX[i] and b64e(leaves[i]) == LEAF_HASHES_B64[i],
          f"leaf {i} = SHA-256(0x00 || entry {i}) = {LEAF_HASHES_HEX[i]}")
    doc_values += [LEAF_HASHES_HEX[i], LEAF_HASHES_B64[i]]
n01 = node_hash(leaves[0], leaves[1])
check(n01.hex() == NODE_01_HEX and b64e(n01) == NODE_01_B64,
      f"node(0..1) = SHA-256(0x01 || leaf 0 || leaf 1) = {NODE_01_HEX}")
root3 = node_hash(n01, leaves[2])
check(root3.hex() == ROOTS_HEX[3], f"root(3) = SHA-256(0x01 || node(0..1) || leaf 2) = {ROOTS_HEX[3]}")
for size in range(4):
    r = mth(leaves[:size])
    check(r.hex() == ROOTS_HEX[size] and b64e(r) == ROOTS_B64[size], f"root at size {size} = {ROOTS_B64[size]}")
    doc_values += [ROOTS_HEX[size], ROOTS_B64[size]]
doc_values += [NODE_01_HEX, NODE_01_B64]

# 4. Checkpoints ---------------------------------------------------------------------------

check(CHECKPOINTS[3] == CHECKPOINT_3_LITERAL, "checkpoint 3 as served")
for size, note in CHECKPOINTS.items():
    text, sigs = split_note(note)
    check(text == f"{ORIGIN}\n{size}\n{b64e(mth(leaves[:size]))}\n"
          and len(sigs) == 1 and sigs[0][1].hex() == KEY_ID_HEX,
          f"checkpoint {size}: origin, size, root; one signature by key {KEY_ID_HEX}")
    doc_values += [CHECKPOINT_SIGNATURES[size]]
doc_values += [CHECKPOINT_3_LITERAL]

# 5. Proofs --------------------------------------------------------------------------------

for index, served in [(0, INCLUSION_0_OF_3), (1, INCLUSION_1_OF_3), (2, INCLUSION_2_OF_3)]:
    path = [b64d(h) for h in served]
    check(path == audit_path(index, leaves), f"audit path of {index} in 3 = RFC 9162 PATH({index}, D[3])")
    check(verify_inclusion(index, 3, leaves[index], path, root3), f"audit path of {index} in 3 verifies")
    bad = [bytes([path[0][0] ^ 1]) + path[0][1:]] + path[1:]
    check(not verify_inclusion(index, 3, leaves[index], bad, root3), f"a flipped bit in that path fails")
for (m, n), served in [((1, 3), CONSISTENCY_1_TO_3), ((1, 2), CONSISTENCY_1_TO_2), ((2, 3), CONSISTENCY_2_TO_3)]:
    proof = [b64d(h) for h in served]
    old, new = mth(leaves[:m]), mth(leaves[:n])
    check(proof == consistency_proof(m, leaves[:n]), f"consistency {m}->{n} = RFC 9162 PROOF({m}, D[{n}])")
    check(verify_consistency(m, n, old, new, proof), f"consistency {m}->{n} verifies")
    wrong = bytes([old[0] ^ 1]) + old[1:]
    check(not verify_consistency(m, n, wrong, new, proof), f"consistency {m}->{n} fails for another old root")
# By hand, for 1 -> 3: the old root is leaf 0; the proof [leaf 1, leaf 2] rebuilds the new root.
check(node_hash(node_hash(b64d(ROOTS_B64[1]), b64d(CONSISTENCY_1_TO_3[0])),
                b64d(CONSISTENCY_1_TO_3[1])) == root3, "by hand: H(1||H(1||root1||p0)||p1) = root3")

# 6. Receipt (tlog-proof@v1) ---------------------------------------------------------------

head, _, checkpoint_part = RECEIPT_1_PROOF.partition("\n\n")
lines = head.split("\n")
check(lines[0] == "c2sp.org/tlog-proof@v1" and lines[1] == "index 1", "receipt: header and index lines")
check(lines[2:] == INCLUSION_1_OF_3, "receipt: audit path lines")
check(checkpoint_part == CHECKPOINTS[3], "receipt: the size-3 checkpoint, verbatim")
check(verify_inclusion(1, 3, leaf_hash(entries[1]), [b64d(h) for h in lines[2:]], root3),
      "receipt: entry 1 is in the tree of checkpoint 3")
doc_values += [RECEIPT_1_PROOF]

# 7. Tiles and entry bundles ---------------------------------------------------------------

tile = b"".join(leaves)
check(len(tile) == TILE_0_000_P3_LEN, "tile/0/000.p/3 = the 3 leaf hashes, 96 bytes")
bundle = b"".join(len(e).to_bytes(2, "big") + e for e in entries)
check(len(bundle) == BUNDLE_000_P3_LEN and sha256(bundle).hex() == BUNDLE_000_P3_SHA256,
      f"tile/entries/000.p/3 = uint16-prefixed entries, {BUNDLE_000_P3_LEN} bytes, sha256 {BUNDLE_000_P3_SHA256}")
check([len(e).to_bytes(2, "big").hex() for e in entries] == BUNDLE_PREFIXES_HEX,
      "bundle length prefixes " + " ".join(BUNDLE_PREFIXES_HEX))
for (level, index, width), expected in TILE_PATHS:
    check(tile_path(level, index, width) == expected, f"tile path {expected}")
    doc_values.append(expected)
doc_values += [BUNDLE_000_P3_SHA256, str(BUNDLE_000_P3_LEN)]

# 8. Signatures (optional) -----------------------------------------------------------------

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
except ImportError:
    print("SKIP Ed25519 signatures (the cryptography module is not installed)")
else:
    pub = Ed25519PublicKey.from_public_bytes(public_key)
    priv = Ed25519PrivateKey.from_private_bytes(seed[1:])
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    derived = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    check(derived == public_key, "the TEST-ONLY seed's public key is the verifier key's")
    notes = [(f"entry {i}", ENTRIES[i]) for i in range(3)]
    notes += [(f"checkpoint {s}", CHECKPOINTS[s]) for s in CHECKPOINTS]
    for what, note in notes:
        text, sigs = split_note(note)
        try:
            pub.verify(sigs[0][2], text.encode("utf-8"))
            ok = True
        except InvalidSignature:
            ok = False
        check(ok, f"{what}: Ed25519 signature over the note text verifies")
        resigned = b64e(bytes.fromhex(KEY_ID_HEX) + priv.sign(text.encode("utf-8")))
        check(resigned == b64e(sigs[0][1] + sigs[0][2]), f"{what}: re-signing reproduces the signature line")
        tampered = text.replace("\n", " \n", 1).encode("utf-8")
        try:
            pub.verify(sigs[0][2], tampered)
            ok = False
        except InvalidSignature:
            ok = True
        check(ok, f"{what}: a changed text does not verify")

# 9. The document quotes these values verbatim ----------------------------------------------

doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ledger.md")
if os.path.exists(doc):
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    missing = [v for v in doc_values if v not in text]
    for v in missing:
        print(f"     not in ledger.md: {v[:100]!r}")
    check(not missing, f"docs/ledger.md quotes all {len(doc_values)} example values verbatim")
else:
    print("SKIP docs/ledger.md not found next to this script")

if failures:
    print(f"{failures} check(s) FAILED")
    sys.exit(1)
print("all checks passed")
