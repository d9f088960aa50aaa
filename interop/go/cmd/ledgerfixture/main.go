// Command ledgerfixture builds a small, deterministic transparency log in the
// Provenance Ledger's published formats using Go's sumdb/note and sumdb/tlog
// packages, and writes it out as test fixtures for tlogcheck: a tlog-tiles
// directory, receipts, consistency proofs, and tampered copies that a correct
// verifier must reject. With -serve it also answers the ledger's JSON read API
// (receipts and consistency proofs for any index/size) so that
// verify-with-go.sh can be exercised before the Rust server exists.
//
// Everything is derived from fixed seeds, so two runs produce identical bytes.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	defaultOrigin = "ledger.example.org/provenance"
	tileHeight    = 8
)

// keyFromSeed returns a signer and the verifier key text for an Ed25519 key
// whose 32-byte seed is SHA-256(label).
func keyFromSeed(name, label string) (note.Signer, string) {
	seed := sha256.Sum256([]byte(label))
	priv := ed25519.NewKeyFromSeed(seed[:])
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	check(err)
	// vkey is name+hash+key (the base64 key may itself contain '+');
	// the private key text reuses name+hash.
	hash := vkey[len(name)+1 : len(name)+9]
	skey := "PRIVATE+KEY+" + name + "+" + hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, seed[:]...))
	s, err := note.NewSigner(skey)
	check(err)
	return s, vkey
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// ledger is an in-memory log: entries plus Go's stored-hash array.
type ledger struct {
	origin  string
	signer  note.Signer
	entries [][]byte
	hashes  []tlog.Hash
}

func (l *ledger) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("hash index %d out of range", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *ledger) append(entry []byte) {
	hs, err := tlog.StoredHashes(int64(len(l.entries)), entry, l)
	check(err)
	l.entries = append(l.entries, entry)
	l.hashes = append(l.hashes, hs...)
}

func (l *ledger) size() int64 { return int64(len(l.entries)) }

// root is the RFC 6962 tree head; tlog.TreeHash returns the zero hash for the
// empty tree, whereas RFC 6962 defines it as SHA-256 of the empty string.
func (l *ledger) root(n int64) tlog.Hash {
	if n == 0 {
		return sha256.Sum256(nil)
	}
	h, err := tlog.TreeHash(n, l)
	check(err)
	return h
}

func checkpointText(origin string, n int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, n, base64.StdEncoding.EncodeToString(root[:]))
}

func (l *ledger) checkpoint(n int64) []byte {
	msg, err := note.Sign(&note.Note{Text: checkpointText(l.origin, n, l.root(n))}, l.signer)
	check(err)
	return msg
}

func entryNote(origin string, i int, signers ...note.Signer) []byte {
	work := sha256.Sum256([]byte("work " + strconv.Itoa(i)))
	body := fmt.Sprintf(`{"kind":"attribution.recorded","seq":%d,"work":"sha256:%x"}`, i, work)
	msg, err := note.Sign(&note.Note{Text: origin + "/entry/v1\n" + body + "\n"}, signers...)
	check(err)
	return msg
}

type receipt struct {
	Entry string `json:"entry"`
	Proof string `json:"proof"`
}

func tlogProofText(index int64, path []tlog.Hash, checkpoint []byte, extra []byte) string {
	var b strings.Builder
	b.WriteString("c2sp.org/tlog-proof@v1\n")
	if extra != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", index)
	for _, h := range path {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(checkpoint)
	return b.String()
}

func (l *ledger) receipt(i, n int64) receipt {
	p, err := tlog.ProveRecord(n, i, l)
	check(err)
	var extra []byte
	if i%5 == 3 { // exercise the optional extra line on some receipts
		extra = []byte("fixture extra data")
	}
	return receipt{Entry: string(l.entries[i]), Proof: tlogProofText(i, p, l.checkpoint(n), extra)}
}

type consistency struct {
	OldSize       int64    `json:"old_size"`
	NewSize       int64    `json:"new_size"`
	Proof         []string `json:"proof"`
	OldCheckpoint string   `json:"old_checkpoint"`
	Checkpoint    string   `json:"checkpoint"`
}

func b64s(hs []tlog.Hash) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, base64.StdEncoding.EncodeToString(h[:]))
	}
	return out
}

func (l *ledger) consistency(m, n int64) consistency {
	var p tlog.TreeProof
	if m > 0 {
		var err error
		p, err = tlog.ProveTree(n, m, l)
		check(err)
	}
	return consistency{OldSize: m, NewSize: n, Proof: b64s(p),
		OldCheckpoint: string(l.checkpoint(m)), Checkpoint: string(l.checkpoint(n))}
}

// writeTiles writes the C2SP tlog-tiles layout for the tree of size n under dir
// (dir/checkpoint, dir/tile/L/..., dir/tile/entries/...).
func (l *ledger) writeTiles(dir string, n int64) {
	writeFile(filepath.Join(dir, "checkpoint"), l.checkpoint(n))
	for _, t := range tlog.NewTiles(tileHeight, 0, n) {
		// NewTiles lists every partial width a growing log would have
		// published; a snapshot at size n serves only the widest one.
		if t.W < 1<<tileHeight && int64(t.W) != (n>>(tileHeight*t.L))-t.N<<tileHeight {
			continue
		}
		data, err := tlog.ReadTileData(t, l)
		check(err)
		writeFile(filepath.Join(dir, c2spPath(t)), data)
	}
	for b := int64(0); b*256 < n; b++ {
		w := n - b*256
		if w > 256 {
			w = 256
		}
		var buf bytes.Buffer
		for k := int64(0); k < w; k++ {
			e := l.entries[b*256+k]
			if len(e) > 0xffff {
				log.Fatalf("entry %d too large", b*256+k)
			}
			binary.Write(&buf, binary.BigEndian, uint16(len(e)))
			buf.Write(e)
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: b, W: int(w)}
		writeFile(filepath.Join(dir, c2spPath(t)), buf.Bytes())
	}
}

// c2spPath converts Go's tile/H/L/N[.p/W] (L "data" for entries) to C2SP's
// tile/L/N[.p/W] and tile/entries/N[.p/W].
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", t.H))
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

func writeFile(path string, data []byte) {
	check(os.MkdirAll(filepath.Dir(path), 0o755))
	check(os.WriteFile(path, data, 0o644))
}

func writeJSON(path string, v interface{}) {
	b, err := json.MarshalIndent(v, "", "  ")
	check(err)
	writeFile(path, append(b, '\n'))
}

func copyTree(src, dst string) {
	check(filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
}

func flipByte(path string, off int) {
	b, err := os.ReadFile(path)
	check(err)
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x01
	check(os.WriteFile(path, b, 0o644))
}

func flipB64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	check(err)
	b[0] ^= 0x10
	return base64.StdEncoding.EncodeToString(b)
}

// manifest lines: "<ok|fail> <subcommand> <file, or tiles base relative to the served root>"
type manifest []string

func (m *manifest) add(expect, sub, path string) {
	*m = append(*m, fmt.Sprintf("%s %s %s", expect, sub, path))
}

func main() {
	out := flag.String("out", "", "output directory (required)")
	n := flag.Int64("n", 1000, "number of entries in the fixture log")
	old := flag.Int64("old", 300, "older tree size for consistency fixtures")
	origin := flag.String("origin", defaultOrigin, "log origin (also the key name)")
	serve := flag.String("serve", "", "after writing, serve the fixture log's HTTP API on this address")
	flag.Parse()
	if *out == "" || *n < 2 || *old < 1 || *old >= *n {
		fmt.Fprintln(os.Stderr, "usage: ledgerfixture -out DIR [-n 1000] [-old 300] [-serve 127.0.0.1:8099]")
		os.Exit(2)
	}

	logSigner, logVKey := keyFromSeed(*origin, "provenance-ledger interop fixture: log key")
	actorSigner, _ := keyFromSeed("actor.example.org/alice", "provenance-ledger interop fixture: actor key")
	impostor, _ := keyFromSeed(*origin, "provenance-ledger interop fixture: impostor key with the log's name")

	l := &ledger{origin: *origin, signer: logSigner}
	for i := 0; i < int(*n); i++ {
		if i%3 == 1 {
			l.append(entryNote(*origin, i, logSigner, actorSigner)) // co-signed by an actor
		} else {
			l.append(entryNote(*origin, i, logSigner))
		}
	}
	N := l.size()
	var man manifest

	writeFile(filepath.Join(*out, "key.txt"), []byte(logVKey+"\n"))
	l.writeTiles(filepath.Join(*out, "log"), N)
	writeFile(filepath.Join(*out, "log", "key"), []byte(logVKey+"\n"))
	man.add("ok", "tiles", "log")

	// Good receipts and checkpoints.
	idxs := map[int64]bool{0: true, 1: true, 2: true, 3: true, N / 2: true, 255: true, 256: true, N - 2: true, N - 1: true}
	var sorted []int64
	for i := range idxs {
		if i < N {
			sorted = append(sorted, i)
		}
	}
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	for _, i := range sorted {
		r := l.receipt(i, N)
		writeJSON(filepath.Join(*out, "good", fmt.Sprintf("receipt-%d.json", i)), r)
		man.add("ok", "receipt", fmt.Sprintf("good/receipt-%d.json", i))
	}
	// A receipt against an older checkpoint is still valid.
	atOld := int64(5)
	if atOld >= *old {
		atOld = *old - 1
	}
	writeJSON(filepath.Join(*out, "good", "receipt-at-old.json"), l.receipt(atOld, *old))
	man.add("ok", "receipt", "good/receipt-at-old.json")
	for _, m := range []int64{*old, N} {
		p := filepath.Join("good", fmt.Sprintf("checkpoint-%d.txt", m))
		writeFile(filepath.Join(*out, p), l.checkpoint(m))
		man.add("ok", "checkpoint", p)
	}
	for _, mn := range [][2]int64{{*old, N}, {1, N}, {N - 1, N}, {N, N}, {0, N}, {256, 512}, {7, 8}} {
		if mn[1] > N {
			continue
		}
		p := filepath.Join("good", fmt.Sprintf("consistency-%d-%d.json", mn[0], mn[1]))
		writeJSON(filepath.Join(*out, p), l.consistency(mn[0], mn[1]))
		man.add("ok", "consistency", p)
	}

	// Tampered receipts.
	mid := N / 2
	base := l.receipt(mid, N)
	bad := func(name string, r receipt) {
		p := filepath.Join("bad", "receipt-"+name+".json")
		writeJSON(filepath.Join(*out, p), r)
		man.add("fail", "receipt", p)
	}
	proofLines := strings.Split(base.Proof, "\n")
	// proofLines: header, index, path..., "", checkpoint lines...
	firstHash := 2
	if strings.HasPrefix(proofLines[1], "extra ") {
		firstHash = 3
	}
	withLines := func(f func([]string) []string) string {
		c := append([]string(nil), proofLines...)
		return strings.Join(f(c), "\n")
	}
	bad("path-bit-flipped", receipt{base.Entry, withLines(func(c []string) []string {
		c[firstHash] = flipB64(c[firstHash])
		return c
	})})
	bad("path-truncated", receipt{base.Entry, withLines(func(c []string) []string {
		return append(c[:firstHash], c[firstHash+1:]...)
	})})
	bad("wrong-index", receipt{base.Entry, withLines(func(c []string) []string {
		c[firstHash-1] = fmt.Sprintf("index %d", mid+1)
		return c
	})})
	bad("index-beyond-size", receipt{base.Entry, withLines(func(c []string) []string {
		c[firstHash-1] = fmt.Sprintf("index %d", N)
		return c
	})})
	bad("bad-header", receipt{base.Entry, strings.Replace(base.Proof, "tlog-proof@v1", "tlog-proof@v2", 1)})
	bad("other-entry", receipt{string(l.entries[(mid+1)%N]), base.Proof})
	bad("entry-body-edited", receipt{strings.Replace(base.Entry, `"seq":`, `"seq": `, 1), base.Proof})
	bad("entry-actor-signed-only", receipt{string(entryNote(*origin, int(mid), actorSigner)), base.Proof})
	{
		msg, err := note.Sign(&note.Note{Text: *origin + "/entry/v2\n{}\n"}, logSigner)
		check(err)
		bad("entry-wrong-type", receipt{string(msg), base.Proof})
	}
	root := l.root(N)
	cpText := checkpointText(*origin, N, root)
	otherRoot := l.root(N - 1)
	bad("checkpoint-root-edited", receipt{base.Entry, strings.Replace(base.Proof,
		base64.StdEncoding.EncodeToString(root[:]), base64.StdEncoding.EncodeToString(otherRoot[:]), 1)})
	{
		forged, err := note.Sign(&note.Note{Text: cpText}, impostor)
		check(err)
		bad("checkpoint-impostor-key", receipt{base.Entry, strings.Replace(base.Proof, string(l.checkpoint(N)), string(forged), 1)})
		// A checkpoint the log did sign, but for a tree that does not contain
		// the entry at that position.
		wrong, err := note.Sign(&note.Note{Text: checkpointText(*origin, N, otherRoot)}, logSigner)
		check(err)
		bad("checkpoint-signed-wrong-root", receipt{base.Entry, strings.Replace(base.Proof, string(l.checkpoint(N)), string(wrong), 1)})
		ext, err := note.Sign(&note.Note{Text: cpText + "extension line\n"}, logSigner)
		check(err)
		bad("checkpoint-extension-line", receipt{base.Entry, strings.Replace(base.Proof, string(l.checkpoint(N)), string(ext), 1)})
		otherOrigin, err := note.Sign(&note.Note{Text: checkpointText("other.example/log", N, root)}, logSigner)
		check(err)
		bad("checkpoint-other-origin", receipt{base.Entry, strings.Replace(base.Proof, string(l.checkpoint(N)), string(otherOrigin), 1)})
	}

	// Tampered consistency proofs.
	goodC := l.consistency(*old, N)
	badC := func(name string, c consistency) {
		p := filepath.Join("bad", "consistency-"+name+".json")
		writeJSON(filepath.Join(*out, p), c)
		man.add("fail", "consistency", p)
	}
	c := goodC
	c.Proof = append([]string(nil), goodC.Proof...)
	c.Proof[0] = flipB64(c.Proof[0])
	badC("proof-bit-flipped", c)
	c = goodC
	c.Proof = goodC.Proof[:len(goodC.Proof)-1]
	badC("proof-truncated", c)
	c = goodC
	c.OldSize = *old + 1
	badC("size-field-mismatch", c)
	c = goodC
	c.OldCheckpoint, c.Checkpoint, c.OldSize, c.NewSize = goodC.Checkpoint, goodC.OldCheckpoint, N, *old
	badC("swapped", c)
	{
		// A fork: the log signs an old checkpoint over different history.
		fork := &ledger{origin: *origin, signer: logSigner}
		for i := 0; i < int(*old); i++ {
			e := l.entries[i]
			if i == int(*old)/2 {
				e = entryNote(*origin, 1_000_000+i, logSigner)
			}
			fork.append(e)
		}
		c = goodC
		c.OldCheckpoint = string(fork.checkpoint(*old))
		badC("forked-old-checkpoint", c)
		c = goodC
		forged, err := note.Sign(&note.Note{Text: checkpointText(*origin, *old, l.root(*old))}, impostor)
		check(err)
		c.OldCheckpoint = string(forged)
		badC("old-checkpoint-impostor-key", c)
	}

	// Tampered tile trees.
	logDir := filepath.Join(*out, "log")
	badTiles := func(name string, f func(dir string)) {
		rel := filepath.Join("bad-tiles", name, "log")
		dir := filepath.Join(*out, rel)
		check(os.RemoveAll(dir))
		copyTree(logDir, dir)
		f(dir)
		man.add("fail", "tiles", rel)
	}
	tileFile := func(dir string, t tlog.Tile) string { return filepath.Join(dir, c2spPath(t)) }
	// The first level-0 tile / entry bundle: full unless the log is smaller.
	w0 := 256
	if N < 256 {
		w0 = int(N)
	}
	lastW := func(level int) int {
		w := (N >> (8 * level)) % 256
		return int(w)
	}
	badTiles("level0-hash-flipped", func(d string) { flipByte(tileFile(d, tlog.Tile{H: 8, L: 0, N: 0, W: w0}), 40) })
	if lastW(0) > 0 {
		badTiles("level0-partial-flipped", func(d string) {
			flipByte(tileFile(d, tlog.Tile{H: 8, L: 0, N: N / 256, W: lastW(0)}), -1)
		})
		badTiles("level0-partial-short", func(d string) {
			p := tileFile(d, tlog.Tile{H: 8, L: 0, N: N / 256, W: lastW(0)})
			b, _ := os.ReadFile(p)
			check(os.WriteFile(p, b[:len(b)-32], 0o644))
		})
	}
	if N >= 256 {
		// The rightmost level-1 tile (partial unless N>>8 is a multiple of 256).
		n1 := N >> 8
		t1 := tlog.Tile{H: 8, L: 1, N: n1 / 256, W: lastW(1)}
		if t1.W == 0 {
			t1 = tlog.Tile{H: 8, L: 1, N: n1/256 - 1, W: 256}
		}
		badTiles("level1-hash-flipped", func(d string) { flipByte(tileFile(d, t1), 0) })
	}
	badTiles("level0-tile-missing", func(d string) { check(os.Remove(tileFile(d, tlog.Tile{H: 8, L: 0, N: 0, W: w0}))) })
	badTiles("checkpoint-impostor", func(d string) {
		forged, err := note.Sign(&note.Note{Text: cpText}, impostor)
		check(err)
		writeFile(filepath.Join(d, "checkpoint"), forged)
	})
	badTiles("entry-byte-flipped", func(d string) {
		// Flip a byte inside the first entry's JSON body of bundle 0.
		p := tileFile(d, tlog.Tile{H: 8, L: -1, N: 0, W: w0})
		b, _ := os.ReadFile(p)
		i := bytes.Index(b, []byte(`"seq":0`))
		b[i+6] = '9'
		check(os.WriteFile(p, b, 0o644))
	})
	badTiles("level0-tile-and-bundle-altered-together", func(d string) {
		// Replace entry 1 by another validly signed entry, in the bundle and
		// in the level-0 tile alike, leaving every other tile untouched. Only
		// a check of tile 0/000 against its parent (or against the root
		// recomputed from the entries) notices.
		forged := entryNote(*origin, 2_000_000, logSigner)
		p := tileFile(d, tlog.Tile{H: 8, L: -1, N: 0, W: w0})
		b, _ := os.ReadFile(p)
		e1 := l.entries[1]
		off := 2 + len(l.entries[0])
		var nb []byte
		nb = append(nb, b[:off]...)
		nb = append(nb, byte(len(forged)>>8), byte(len(forged)))
		nb = append(nb, forged...)
		nb = append(nb, b[off+2+len(e1):]...)
		check(os.WriteFile(p, nb, 0o644))
		tp := tileFile(d, tlog.Tile{H: 8, L: 0, N: 0, W: w0})
		tb, _ := os.ReadFile(tp)
		h := tlog.RecordHash(forged)
		copy(tb[32:64], h[:])
		check(os.WriteFile(tp, tb, 0o644))
	})
	badTiles("entry-bundle-extra-entry", func(d string) {
		w := lastW(0)
		t := tlog.Tile{H: 8, L: -1, N: N / 256, W: w}
		if w == 0 {
			t = tlog.Tile{H: 8, L: -1, N: N/256 - 1, W: 256}
		}
		p := tileFile(d, t)
		b, _ := os.ReadFile(p)
		e := l.entries[0]
		b = append(b, byte(len(e)>>8), byte(len(e)))
		check(os.WriteFile(p, append(b, e...), 0o644))
	})
	{
		// A log whose tiles and checkpoint are all consistent, but one of whose
		// entries (index 7, or 7 mod n) carries no log signature.
		rel := filepath.Join("bad-tiles", "entry-not-log-signed", "log")
		u := &ledger{origin: *origin, signer: logSigner}
		for i := 0; i < 300 && i < int(N); i++ {
			if int64(i) == 7%N {
				u.append(entryNote(*origin, i, actorSigner))
			} else {
				u.append(l.entries[i])
			}
		}
		dir := filepath.Join(*out, rel)
		check(os.RemoveAll(dir))
		u.writeTiles(dir, u.size())
		man.add("fail", "tiles", rel)
	}

	// Static copies of the JSON API paths, for plain static file servers.
	for _, i := range sorted {
		writeJSON(filepath.Join(*out, "v1", "log", "receipts", strconv.FormatInt(i, 10)), l.receipt(i, N))
	}
	writeFile(filepath.Join(*out, "MANIFEST"), []byte(strings.Join(man, "\n")+"\n"))
	log.Printf("wrote fixture log %q size %d to %s (%d manifest cases)", *origin, N, *out, len(man))

	if *serve != "" {
		serveAPI(*serve, *out, l)
	}
}

func serveAPI(addr, out string, l *ledger) {
	N := l.size()
	mux := http.NewServeMux()
	fs := http.StripPrefix("/log/", http.FileServer(http.Dir(filepath.Join(out, "log"))))
	mux.Handle("/log/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log/checkpoint" || r.URL.Path == "/log/key" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		fs.ServeHTTP(w, r)
	}))
	mux.HandleFunc("/v1/log/receipts/", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/v1/log/receipts/"), 10, 64)
		if err != nil || i < 0 || i >= N {
			http.Error(w, "no such entry", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(l.receipt(i, N))
	})
	mux.HandleFunc("/v1/log/proof/consistency", func(w http.ResponseWriter, r *http.Request) {
		m, err1 := strconv.ParseInt(r.URL.Query().Get("old_size"), 10, 64)
		n, err2 := strconv.ParseInt(r.URL.Query().Get("new_size"), 10, 64)
		if err1 != nil || err2 != nil || m < 0 || m > n || n > N {
			http.Error(w, "bad sizes", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(l.consistency(m, n))
	})
	log.Printf("serving fixture log API on http://%s/", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
