#!/usr/bin/env python3
"""Writes license-verdicts.tsv, the known-answer table for `evaluate`.

The rules below restate Creative Commons' adapter's licence chart, its ShareAlike
compatibility list and the version differences, from the licences' own terms. They do not
read the TOML contracts: the table is a second, independent statement of the same facts, so
a wrong contract makes the Rust test fail. Review a change here against the chart, then run
`python3 contracts/license-verdicts.py > contracts/license-verdicts.tsv`.
"""

VERSIONS = ["4.0", "3.0", "2.0"]
CC_FAMILIES = ["by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd"]
GFDL, GPL, ARR = "GFDL-1.3-only", "GPL-3.0-only", "LicenseRef-All-Rights-Reserved"
CC0, PDM = "CC0-1.0", "CC-PDM-1.0"

LICENSES = {CC0: ("pd", None), PDM: ("pd", None), GFDL: ("gfdl", "1.3"), GPL: ("gpl", "3.0"), ARR: ("arr", None)}
for fam in CC_FAMILIES:
    for v in VERSIONS:
        LICENSES[f"CC-{fam.upper()}-{v}"] = (fam, v)


def adapter_licence_ok(orig, target):
    """May an adaptation of a work under `orig` be released under `target`?"""
    of, ov = LICENSES[orig]
    tf, tv = LICENSES[target]
    if target == PDM:
        return False  # a mark for works already free of copyright, not a licence for new ones
    if of == "pd":
        return True
    if of == "by":
        # Any licence that keeps attribution: every CC licence, the GNU licences, or none.
        return tf in CC_FAMILIES or target in (GFDL, GPL, ARR)
    if of == "by-nc":
        return tf in ("by-nc", "by-nc-sa", "by-nc-nd") or target == ARR
    if of == "by-sa":
        same_or_later = tf == "by-sa" and float(tv) >= float(ov)
        return same_or_later or (ov == "4.0" and target == GPL)
    if of == "by-nc-sa":
        return tf == "by-nc-sa" and float(tv) >= float(ov)
    if of == "gfdl":
        return target == GFDL
    if of == "gpl":
        return target == GPL
    return False  # ND and all rights reserved: adaptations may not be shared at all


def verdict(lic, commercial, target, ai):
    fam, ver = LICENSES[lic]
    denied, notes = [], []
    if fam == "arr":
        denied.append("no_license_granted")
    if commercial and "nc" in fam:
        denied.append("commercial_use_prohibited")
    adapted = target != "verbatim"
    if adapted:
        if fam in ("by-nd", "by-nc-nd", "arr"):
            denied.append("derivatives_prohibited")
        elif target is not None:
            if adapter_licence_ok(lic, target):
                notes.append("adaptation_license_compatible")
            else:
                denied.append("adaptation_license_incompatible")
    if ai == "unstated":
        notes.append("ai_preference_unstated")
    if ai == "reserved":
        denied.append("ai_use_reserved")
    # Evaluation order: licence grant, commercial use, adaptation, then AI preferences.
    order = ["no_license_granted", "commercial_use_prohibited", "derivatives_prohibited",
             "adaptation_license_compatible", "adaptation_license_incompatible",
             "ai_preference_unstated", "ai_use_reserved"]
    reasons = sorted(denied + notes, key=order.index)
    allowed = not denied
    obligations = []
    if allowed:
        reasons.insert(0, "public_domain" if fam == "pd" else "permitted_by_license")
        cc = fam in CC_FAMILIES
        gnu = fam in ("gfdl", "gpl")
        if cc or fam == "gfdl":
            obligations.append("attribution")
        if (cc and ver in ("3.0", "2.0")) or fam == "gfdl":
            obligations.append("title")
        if cc or gnu:
            obligations.append("notice")
        if cc:
            obligations.append("license_link")
        if gnu:
            obligations.append("license_text")
        if adapted and ((cc and ver in ("4.0", "3.0")) or gnu):
            obligations.append("indicate_changes")
        if adapted and cc and ver in ("3.0", "2.0"):
            obligations.append("adaptation_credit")
        if adapted and ("sa" in fam or gnu):
            obligations.append("share_alike")
        if gnu:
            obligations.append("source_code")
    return allowed, reasons, obligations


def main():
    print("# Known-answer verdicts; written by contracts/license-verdicts.py, do not edit by hand.")
    print("# ai: none = not a machine use; unstated = generative AI training (train-genai), no")
    print("# preference; reserved = the same use with `train-ai=n` (reserving train-ai covers train-genai).")
    print("license\tcommercial\tadaptation\tai\tallowed\treasons\tobligations")
    ids = sorted(LICENSES)
    for lic in ids:
        for commercial in (False, True):
            for target in ["verbatim", None] + ids:
                for ai in ("none", "unstated", "reserved"):
                    allowed, reasons, obligations = verdict(lic, commercial, target, ai)
                    adaptation = "verbatim" if target == "verbatim" else f"adapted:{target or '-'}"
                    print("\t".join([lic, "yes" if commercial else "no", adaptation, ai,
                                     "yes" if allowed else "no", ",".join(reasons),
                                     ",".join(obligations) or "-"]))


if __name__ == "__main__":
    main()
