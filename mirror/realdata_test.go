package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/mirror"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbclient"
)

const sumGolangOrgKey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

// TestRealData: the real sum.golang.org tree head verifies through the
// mirror's path (the captured data has no data tiles, so the import stops
// with a not-found error, stores no record and does not halt); the key
// index key of every real record is the module version it was looked up
// as; and each real record verifies against the real tiles, as an import
// checks it.
func TestRealData(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("..", "testdata", "sum.golang.org")
	src := sumdbclient.NewDirSource(dir)
	m, err := mirror.Open(ctx, memstore.New(), mirror.Options{Source: src, VerifierKey: sumGolangOrgKey, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Sync(ctx); !errors.Is(err, sumdbclient.ErrNotFound) || m.Halted() != nil || m.Stored() != 0 {
		t.Fatalf("Sync on the captured data: %v (halted %v, stored %d), want a not-found data tile", err, m.Halted(), m.Stored())
	}

	c, err := sumdbclient.New(sumdbclient.Options{Source: src, VerifierKey: sumGolangOrgKey})
	if err != nil {
		t.Fatal(err)
	}
	head, err := c.FetchLatest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "lookup", "*", "*"))
	more, _ := filepath.Glob(filepath.Join(dir, "lookup", "*", "*", "*"))
	n := 0
	for _, f := range append(files, more...) {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		data, _ := os.ReadFile(f)
		idText, rest, _ := bytes.Cut(data, []byte("\n"))
		rec, _, _ := bytes.Cut(rest, []byte("\n\n"))
		rec = append(rec, '\n')
		id, err := strconv.ParseInt(string(idText), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		escaped := filepath.ToSlash(strings.TrimPrefix(f, filepath.Join(dir, "lookup")+string(filepath.Separator)))
		p, v, _ := strings.Cut(escaped, "@")
		path, _ := module.UnescapePath(p)
		version, _ := module.UnescapeVersion(v)
		if got := string(mirror.SumDBKey(rec)); got != path+"@"+version {
			t.Errorf("%s: SumDBKey = %q", f, got)
		}
		if err := c.Tiles().CheckRecords(ctx, head.Tree, id, [][]byte{rec}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		bad := bytes.Replace(rec, []byte("h1:"), []byte("h1:x"), 1)
		if c.Tiles().CheckRecords(ctx, head.Tree, id, [][]byte{bad}) == nil {
			t.Errorf("%s: a changed record verifies", f)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("%d real lookups, want 10", n)
	}
}
