// Command genvectors writes the known-answer test vectors under contracts/
// using Go's golang.org/x/mod/sumdb/tlog and sumdb/note (implementations the
// ledger's authors did not write), after checking
//
//   - Go's results against the published vectors transcribed in
//     contracts/rfc6962/published-transparency-dev-merkle.json and
//     contracts/signed-note/published-go-sumdb-note.json, and
//   - every root and proof against a second, deliberately naive recursive
//     implementation of the RFC 6962 section 2.1 definitions (below), and
//   - every proof with tlog.CheckRecord / tlog.CheckTree.
//
// Output is deterministic: rerunning it must leave the files unchanged
// (CI can run it and `git diff --exit-code contracts/`).
//
// Usage: genvectors -contracts ../../contracts
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func must(cond bool, format string, args ...interface{}) {
	if !cond {
		log.Fatalf("check failed: "+format, args...)
	}
}

// ---- vector file format ----

type rootVec struct {
	Size    int64  `json:"size"`
	RootHex string `json:"root_hex"`
}

type inclusionVec struct {
	Size    int64    `json:"size"`
	Index   int64    `json:"index"`
	PathHex []string `json:"path_hex"`
}

type consistencyVec struct {
	Old      int64    `json:"old"`
	New      int64    `json:"new"`
	ProofHex []string `json:"proof_hex"`
}

type vectorFile struct {
	Description string           `json:"description"`
	Generator   string           `json:"generator"`
	LeavesRule  string           `json:"leaves_rule,omitempty"`
	LeavesHex   []string         `json:"leaves_hex"`
	LeafHashes  []string         `json:"leaf_hashes_hex"`
	Roots       []rootVec        `json:"roots"`
	Inclusion   []inclusionVec   `json:"inclusion"`
	Consistency []consistencyVec `json:"consistency"`
}

// ---- tree via Go's tlog ----

type goTree struct{ hashes []tlog.Hash }

func (t *goTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("index %d out of range", x)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

func buildGoTree(leaves [][]byte) *goTree {
	t := &goTree{}
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, t)
		check(err)
		t.hashes = append(t.hashes, hs...)
	}
	return t
}

func (t *goTree) root(n int64) tlog.Hash {
	if n == 0 {
		// RFC 6962: MTH({}) = SHA-256(); tlog.TreeHash returns the zero hash.
		return sha256.Sum256(nil)
	}
	h, err := tlog.TreeHash(n, t)
	check(err)
	return h
}

// ---- naive RFC 6962 section 2.1 definitions, for cross-checking only ----

func leafHash(d []byte) [32]byte { return sha256.Sum256(append([]byte{0}, d...)) }

func nodeHash(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// split returns the largest power of two smaller than n (n > 1).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func mth(d [][]byte) [32]byte {
	switch len(d) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leafHash(d[0])
	}
	k := split(len(d))
	return nodeHash(mth(d[:k]), mth(d[k:]))
}

func path(m int, d [][]byte) [][32]byte {
	if len(d) == 1 {
		return nil
	}
	k := split(len(d))
	if m < k {
		return append(path(m, d[:k]), mth(d[k:]))
	}
	return append(path(m-k, d[k:]), mth(d[:k]))
}

func proof(m int, d [][]byte) [][32]byte { return subproof(m, d, true) }

func subproof(m int, d [][]byte, b bool) [][32]byte {
	n := len(d)
	if m == n {
		if b {
			return nil
		}
		return [][32]byte{mth(d)}
	}
	k := split(n)
	if m <= k {
		return append(subproof(m, d[:k], b), mth(d[k:]))
	}
	return append(subproof(m-k, d[k:], false), mth(d[:k]))
}

// ---- helpers ----

func hexs(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

func hexs32(hs [][32]byte) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	check(err)
	return b
}

func toHash(s string) tlog.Hash {
	var h tlog.Hash
	b := unhex(s)
	must(len(b) == 32, "hash %q length", s)
	copy(h[:], b)
	return h
}

// writeVectors writes JSON with one vector object per line, for readable diffs.
func writeVectors(path string, v interface{}) {
	var rb bytes.Buffer
	enc := json.NewEncoder(&rb)
	enc.SetEscapeHTML(false)
	check(enc.Encode(v))
	raw := bytes.TrimSpace(rb.Bytes())
	var top map[string]json.RawMessage
	check(json.Unmarshal(raw, &top))
	// Preserve struct field order by re-marshalling in the order they appear.
	var order []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	_, _ = dec.Token()
	for dec.More() {
		k, err := dec.Token()
		check(err)
		order = append(order, k.(string))
		var skip json.RawMessage
		check(dec.Decode(&skip))
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range order {
		kb, _ := json.Marshal(k)
		b.WriteString("  ")
		b.Write(kb)
		b.WriteString(": ")
		val := top[k]
		var arr []json.RawMessage
		if json.Unmarshal(val, &arr) == nil && len(arr) > 0 && (arr[0][0] == '{' || arr[0][0] == '"') {
			b.WriteString("[\n")
			for j, e := range arr {
				b.WriteString("    ")
				b.Write(e)
				if j < len(arr)-1 {
					b.WriteString(",")
				}
				b.WriteString("\n")
			}
			b.WriteString("  ]")
		} else {
			b.Write(val)
		}
		if i < len(order)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	// Sanity: the output parses back to the same value.
	var a, c interface{}
	check(json.Unmarshal(raw, &a))
	check(json.Unmarshal(b.Bytes(), &c))
	ra, _ := json.Marshal(a)
	rc, _ := json.Marshal(c)
	must(bytes.Equal(ra, rc), "json layout round trip for %s", path)
	check(os.MkdirAll(filepath.Dir(path), 0o755))
	check(os.WriteFile(path, b.Bytes(), 0o644))
	log.Printf("wrote %s (%d bytes)", path, b.Len())
}

// ---- RFC 6962 vectors ----

type pairs struct {
	inclusion   func(n int64) []int64 // indexes to emit for size n
	consistency func(n int64) []int64 // old sizes to emit for new size n
}

func makeVectors(desc, rule string, leaves [][]byte, sizes []int64, p pairs) vectorFile {
	t := buildGoTree(leaves)
	vf := vectorFile{
		Description: desc,
		Generator:   "interop/go/cmd/genvectors (Go golang.org/x/mod/sumdb/tlog v0.7.0, cross-checked against a naive RFC 6962 recursion)",
		LeavesRule:  rule,
		LeavesHex:   []string{},
	}
	for _, l := range leaves {
		vf.LeavesHex = append(vf.LeavesHex, hex.EncodeToString(l))
		h := tlog.RecordHash(l)
		must(h == tlog.Hash(leafHash(l)), "leaf hash")
		vf.LeafHashes = append(vf.LeafHashes, hex.EncodeToString(h[:]))
	}
	for _, n := range sizes {
		r := t.root(n)
		must(r == tlog.Hash(mth(leaves[:n])), "root %d: tlog vs naive", n)
		vf.Roots = append(vf.Roots, rootVec{n, hex.EncodeToString(r[:])})
	}
	for _, n := range sizes {
		if n == 0 {
			continue
		}
		root := t.root(n)
		for _, i := range p.inclusion(n) {
			pr, err := tlog.ProveRecord(n, i, t)
			check(err)
			must(equalStrings(hexs(pr), hexs32(path(int(i), leaves[:n]))), "inclusion %d/%d tlog vs naive", i, n)
			lh := tlog.RecordHash(leaves[i])
			check(tlog.CheckRecord(pr, n, root, i, lh))
			vf.Inclusion = append(vf.Inclusion, inclusionVec{Size: n, Index: i, PathHex: hexs(pr)})
		}
		for _, m := range p.consistency(n) {
			pr, err := tlog.ProveTree(n, m, t)
			check(err)
			must(equalStrings(hexs(pr), hexs32(proof(int(m), leaves[:n]))), "consistency %d->%d tlog vs naive", m, n)
			check(tlog.CheckTree(pr, n, root, m, t.root(m)))
			vf.Consistency = append(vf.Consistency, consistencyVec{Old: m, New: n, ProofHex: hexs(pr)})
		}
	}
	return vf
}

func allIndexes(n int64) []int64 {
	var out []int64
	for i := int64(0); i < n; i++ {
		out = append(out, i)
	}
	return out
}

func allOld(n int64) []int64 {
	var out []int64
	for m := int64(1); m <= n; m++ {
		out = append(out, m)
	}
	return out
}

func uniqueIn(n int64, lo int64, cands ...int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, c := range cands {
		if c >= lo && c <= n && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func checkPublishedRFC6962(dir string, gen vectorFile) {
	var pub vectorFile
	b, err := os.ReadFile(filepath.Join(dir, "published-transparency-dev-merkle.json"))
	check(err)
	check(json.Unmarshal(b, &pub))
	must(equalStrings(pub.LeavesHex, gen.LeavesHex), "published leaves")
	must(equalStrings(pub.LeafHashes, gen.LeafHashes), "published leaf hashes")
	roots := map[int64]string{}
	for _, r := range gen.Roots {
		roots[r.Size] = r.RootHex
	}
	for _, r := range pub.Roots {
		must(roots[r.Size] == r.RootHex, "published root %d: Go says %s, published %s", r.Size, roots[r.Size], r.RootHex)
	}
	inc := map[[2]int64][]string{}
	for _, v := range gen.Inclusion {
		inc[[2]int64{v.Size, v.Index}] = v.PathHex
	}
	for _, v := range pub.Inclusion {
		got, ok := inc[[2]int64{v.Size, v.Index}]
		must(ok && equalStrings(got, v.PathHex), "published inclusion %d/%d", v.Index, v.Size)
	}
	con := map[[2]int64][]string{}
	for _, v := range gen.Consistency {
		con[[2]int64{v.Old, v.New}] = v.ProofHex
	}
	for _, v := range pub.Consistency {
		got, ok := con[[2]int64{v.Old, v.New}]
		must(ok && equalStrings(got, v.ProofHex), "published consistency %d->%d", v.Old, v.New)
	}
	log.Printf("Go's tlog agrees with all %d published roots, %d inclusion and %d consistency proofs",
		len(pub.Roots), len(pub.Inclusion), len(pub.Consistency))
}

// ---- signed-note vectors ----

type pubNoteFile struct {
	Keys []struct {
		Name           string  `json:"name"`
		KeyIDHex       string  `json:"key_id_hex"`
		VerifierKey    string  `json:"verifier_key"`
		PrivateKeyText *string `json:"private_key_text"`
	} `json:"keys"`
	InvalidVerifierKeys []struct {
		VerifierKey string `json:"verifier_key"`
	} `json:"invalid_verifier_keys"`
	Notes []struct {
		Text       string `json:"text"`
		Signatures []struct {
			Name     string `json:"name"`
			KeyIDHex string `json:"key_id_hex"`
			Base64   string `json:"base64"`
		} `json:"signatures"`
		SignedByPeterOnly string `json:"signed_by_peter_only"`
	} `json:"notes"`
}

func checkPublishedNotes(dir string) {
	var pub pubNoteFile
	b, err := os.ReadFile(filepath.Join(dir, "published-go-sumdb-note.json"))
	check(err)
	check(json.Unmarshal(b, &pub))
	verifiers := map[string]note.Verifier{}
	for _, k := range pub.Keys {
		v, err := note.NewVerifier(k.VerifierKey)
		check(err)
		must(v.Name() == k.Name && fmt.Sprintf("%08x", v.KeyHash()) == k.KeyIDHex, "published key %s", k.Name)
		verifiers[k.Name] = v
	}
	for _, k := range pub.InvalidVerifierKeys {
		_, err := note.NewVerifier(k.VerifierKey)
		must(err != nil, "published invalid key %q accepted", k.VerifierKey)
	}
	skey := *pub.Keys[0].PrivateKeyText
	signer, err := note.NewSigner(skey)
	check(err)
	n := pub.Notes[0]
	msg, err := note.Sign(&note.Note{Text: n.Text}, signer)
	check(err)
	must(string(msg) == n.SignedByPeterOnly, "Go's Sign output differs from the published signed note")
	var all strings.Builder
	all.WriteString(n.Text + "\n")
	for _, s := range n.Signatures {
		all.WriteString("\u2014 " + s.Name + " " + s.Base64 + "\n")
	}
	opened, err := note.Open([]byte(all.String()), note.VerifierList(verifiers["PeterNeumann"], verifiers["EnochRoot"]))
	check(err)
	must(len(opened.Sigs) == 2, "published note: both signatures verify")
	log.Printf("Go's note package agrees with the published signed-note examples")
}

type keyVec struct {
	Name           string `json:"name"`
	SeedHex        string `json:"seed_hex"`
	PublicKeyHex   string `json:"public_key_hex"`
	KeyIDInputHex  string `json:"key_id_input_hex"`
	KeyIDHex       string `json:"key_id_hex"`
	VerifierKey    string `json:"verifier_key"`
	PrivateKeyText string `json:"private_key_text"`
}

type sigVec struct {
	Name         string `json:"name"`
	KeyIDHex     string `json:"key_id_hex"`
	SignatureHex string `json:"signature_hex"`
	Base64       string `json:"base64"`
	Line         string `json:"line"`
}

type noteVec struct {
	Description string   `json:"description"`
	SignedBy    []string `json:"signed_by"`
	Text        string   `json:"text"`
	Signatures  []sigVec `json:"signatures"`
	SignedNote  string   `json:"signed_note"`
	SignedNoteB string   `json:"signed_note_base64"`
}

type openVec struct {
	Description   string   `json:"description"`
	Message       string   `json:"message"`
	VerifierKeys  []string `json:"verifier_keys"`
	Valid         bool     `json:"valid"`
	VerifiedBy    []string `json:"verified_by,omitempty"`
	UnverifiedSig []string `json:"unverified,omitempty"`
	GoError       string   `json:"go_error,omitempty"`
}

type noteFile struct {
	Description string    `json:"description"`
	Generator   string    `json:"generator"`
	Keys        []keyVec  `json:"keys"`
	Notes       []noteVec `json:"notes"`
	Open        []openVec `json:"open"`
}

func makeKey(name string, seed []byte) (keyVec, note.Signer, note.Verifier) {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	check(err)
	v, err := note.NewVerifier(vkey)
	check(err)
	id := fmt.Sprintf("%08x", v.KeyHash())
	input := append(append([]byte(name+"\n"), 1), pub...)
	sum := sha256.Sum256(input)
	must(binary.BigEndian.Uint32(sum[:4]) == v.KeyHash(), "key id derivation")
	skey := "PRIVATE+KEY+" + name + "+" + id + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, seed...))
	s, err := note.NewSigner(skey)
	check(err)
	return keyVec{Name: name, SeedHex: hex.EncodeToString(seed), PublicKeyHex: hex.EncodeToString(pub),
		KeyIDInputHex: hex.EncodeToString(input), KeyIDHex: id, VerifierKey: vkey, PrivateKeyText: skey}, s, v
}

func makeNote(desc, text string, signers ...note.Signer) noteVec {
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	check(err)
	nv := noteVec{Description: desc, Text: text, SignedNote: string(msg), SignedNoteB: base64.StdEncoding.EncodeToString(msg)}
	sigPart := strings.TrimPrefix(string(msg), text+"\n")
	for _, line := range strings.Split(strings.TrimSuffix(sigPart, "\n"), "\n") {
		f := strings.SplitN(strings.TrimPrefix(line, "\u2014 "), " ", 2)
		raw, err := base64.StdEncoding.DecodeString(f[1])
		check(err)
		nv.Signatures = append(nv.Signatures, sigVec{Name: f[0], KeyIDHex: hex.EncodeToString(raw[:4]),
			SignatureHex: hex.EncodeToString(raw[4:]), Base64: f[1], Line: line})
		nv.SignedBy = append(nv.SignedBy, f[0])
	}
	// Ed25519 is deterministic: signing again gives the same bytes.
	again, err := note.Sign(&note.Note{Text: text}, signers...)
	check(err)
	must(bytes.Equal(msg, again), "deterministic signature")
	return nv
}

func openCase(desc, msg string, vkeys []string) openVec {
	var vs []note.Verifier
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		check(err)
		vs = append(vs, v)
	}
	ov := openVec{Description: desc, Message: msg, VerifierKeys: vkeys}
	n, err := note.Open([]byte(msg), note.VerifierList(vs...))
	if err != nil {
		ov.GoError = err.Error()
		return ov
	}
	ov.Valid = true
	for _, s := range n.Sigs {
		ov.VerifiedBy = append(ov.VerifiedBy, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	for _, s := range n.UnverifiedSigs {
		ov.UnverifiedSig = append(ov.UnverifiedSig, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return ov
}

func makeNoteVectors(rfcRoot8 string) noteFile {
	const origin = "ledger.example.org/provenance"
	seed := sha256.Sum256([]byte("provenance-ledger contracts/signed-note: log key"))
	seed2 := sha256.Sum256([]byte("provenance-ledger contracts/signed-note: witness key"))
	logKey, logSigner, _ := makeKey(origin, seed[:])
	witKey, witSigner, _ := makeKey("witness.example.net/w1", seed2[:])
	// Same name as the log, different key: must not verify as the log.
	seed3 := sha256.Sum256([]byte("provenance-ledger contracts/signed-note: impostor key"))
	impKey, impSigner, _ := makeKey(origin, seed3[:])

	empty := sha256.Sum256(nil)
	root8, _ := hex.DecodeString(rfcRoot8)
	cp0 := origin + "\n0\n" + base64.StdEncoding.EncodeToString(empty[:]) + "\n"
	cp8 := origin + "\n8\n" + base64.StdEncoding.EncodeToString(root8) + "\n"
	entry := origin + "/entry/v1\n" + `{"kind":"work.registered","seq":0}` + "\n"

	nf := noteFile{
		Description: "Signed notes (C2SP signed-note, Ed25519, type 0x01) made with Go's sumdb/note from fixed seeds. seed_hex is the 32-byte Ed25519 seed (RFC 8032 private key); key ID = first 4 bytes of SHA-256(key_id_input) where key_id_input = name || 0x0A || 0x01 || public key. A signature line is U+2014, space, name, space, base64(key ID || 64-byte signature); the signature covers the note text (everything before the blank line, including its final newline).",
		Generator:   "interop/go/cmd/genvectors (Go golang.org/x/mod/sumdb/note v0.7.0)",
		Keys:        []keyVec{logKey, witKey, impKey},
	}
	cpEmpty := makeNote("checkpoint of the empty tree (root = SHA-256 of the empty string)", cp0, logSigner)
	cpEight := makeNote("checkpoint over the 8-leaf RFC 6962 test data (root from contracts/rfc6962)", cp8, logSigner)
	cpCosigned := makeNote("the size-8 checkpoint signed by the log and a second key (Go orders signature lines as the signers are given)", cp8, logSigner, witSigner)
	ent := makeNote("an entry note", entry, logSigner)
	imp := makeNote("the size-8 checkpoint signed by a different key that has the log's name", cp8, impSigner)
	nf.Notes = []noteVec{cpEmpty, cpEight, cpCosigned, ent, imp}

	lk, wk, ik := logKey.VerifierKey, witKey.VerifierKey, impKey.VerifierKey
	tampered := strings.Replace(cpEight.SignedNote, "\n8\n", "\n9\n", 1)
	noBlank := strings.Replace(cpEight.SignedNote, "\n\n\u2014", "\n\u2014", 1)
	hyphen := strings.Replace(cpEight.SignedNote, "\u2014 ", "- ", 1)
	noFinalNL := strings.TrimSuffix(cpEight.SignedNote, "\n")
	nf.Open = []openVec{
		openCase("valid, log key only", cpEight.SignedNote, []string{lk}),
		openCase("valid, cosigned; the witness signature is unknown to this verifier and ignored", cpCosigned.SignedNote, []string{lk}),
		openCase("valid, both keys known", cpCosigned.SignedNote, []string{lk, wk}),
		openCase("signed only by a key the verifier does not know", cpCosigned.SignedNote, []string{ik}),
		openCase("impostor key with the log's name: its key ID differs, so no verifiable signature", imp.SignedNote, []string{lk}),
		openCase("text altered after signing", tampered, []string{lk}),
		openCase("no blank line before the signatures", noBlank, []string{lk}),
		openCase("ASCII hyphen instead of U+2014 em dash", hyphen, []string{lk}),
		openCase("missing final newline", noFinalNL, []string{lk}),
	}
	return nf
}

func main() {
	contracts := flag.String("contracts", "", "path of the contracts/ directory")
	flag.Parse()
	if *contracts == "" {
		fmt.Fprintln(os.Stderr, "usage: genvectors -contracts PATH/TO/contracts")
		os.Exit(2)
	}
	rfcDir := filepath.Join(*contracts, "rfc6962")
	noteDir := filepath.Join(*contracts, "signed-note")

	std := [][]byte{{}, {0x00}, {0x10}, {0x20, 0x21}, {0x30, 0x31}, {0x40, 0x41, 0x42, 0x43},
		{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
		{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f}}
	var sizes8 []int64
	for n := int64(0); n <= 8; n++ {
		sizes8 = append(sizes8, n)
	}
	v8 := makeVectors("RFC 6962 Merkle tree over the standard 8-leaf test data: roots for sizes 0..8, every inclusion proof and every consistency proof with 1 <= old <= new <= 8.",
		"", std, sizes8, pairs{allIndexes, allOld})
	checkPublishedRFC6962(rfcDir, v8)
	writeVectors(filepath.Join(rfcDir, "rfc6962-8leaf.json"), v8)

	const dense = 70
	const maxLeaves = 1025
	var dec [][]byte
	for i := 0; i < maxLeaves; i++ {
		dec = append(dec, []byte(strconv.Itoa(i)))
	}
	var sizesD []int64
	for n := int64(0); n <= dense; n++ {
		sizesD = append(sizesD, n)
	}
	sizesD = append(sizesD, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024, 1025)
	vd := makeVectors(fmt.Sprintf("RFC 6962 Merkle tree over leaves that are the ASCII decimal index: roots for sizes 0..%d and selected larger sizes up to %d; for sizes <= %d every inclusion proof and every consistency proof with old >= 1, for the larger sizes a sample.", dense, maxLeaves, dense),
		"leaf i is the ASCII decimal representation of i, without leading zeros: \"0\", \"1\", ..., \"1024\"",
		dec, sizesD, pairs{
			inclusion: func(n int64) []int64 {
				if n <= dense {
					return allIndexes(n)
				}
				return uniqueIn(n-1, 0, 0, 1, 2, n/2-1, n/2, 255, 256, n-3, n-2, n-1)
			},
			consistency: func(n int64) []int64 {
				if n <= dense {
					return allOld(n)
				}
				return uniqueIn(n, 1, 1, 2, 3, 7, 64, 70, 127, 128, 129, 255, 256, 257, n/2, n-2, n-1, n)
			},
		})
	writeVectors(filepath.Join(rfcDir, "rfc6962-decimal-leaves.json"), vd)

	checkPublishedNotes(noteDir)
	writeVectors(filepath.Join(noteDir, "generated-ledger-notes.json"), makeNoteVectors(v8.Roots[8].RootHex))
}
