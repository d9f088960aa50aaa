module provenance-ledger/interop

go 1.19

require golang.org/x/mod v0.7.0

// Build offline against Debian's golang-golang-x-mod-dev package (0.7.0);
// see ../README.md. Nothing is fetched from the network.
replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
