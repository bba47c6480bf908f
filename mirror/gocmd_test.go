package mirror_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/sumdbserver"
	"github.com/tlogkit/tlogkit/sumdbserver/sumdbtest"
)

// TestGoCommand: the go command, pointed at the mirror with the origin's
// key, downloads and verifies modules while the origin is stopped, and
// refuses a version the origin never logged (the mirror answers 404).
func TestGoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	ctx := context.Background()
	proxyDir := t.TempDir()
	const path = "example.com/hello"
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		sumdbtest.WriteModule(t, proxyDir, module.Version{Path: path, Version: v}, map[string]string{
			"hello.go": "package hello\n\nconst Version = \"" + v + "\"\n",
		})
	}
	up, err := sumdbserver.NewProxy("file://" + filepath.ToSlash(proxyDir))
	if err != nil {
		t.Fatal(err)
	}
	skey, vkey := newKey(t)
	o := newOrigin(t, skey, vkey, up)
	o.grow(t, 1000, "")
	// The origin logs two versions, as the go command asks for them.
	e := sumdbtest.NewGoEnv(t, proxyDir, vkey+" "+o.srv.URL)
	e.MustRun(e.Work, "mod", "download", path+"@v1.0.0")
	e.MustRun(e.Work, "mod", "download", path+"@v1.1.0")
	o.grow(t, 300, "")

	m := openMirror(t, memstore.New(), o, nil, false)
	defer m.Close()
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	o.srv.Close() // the origin is gone
	ms := httptest.NewServer(m)
	defer ms.Close()

	e2 := sumdbtest.NewGoEnv(t, proxyDir, vkey+" "+ms.URL)
	e2.MustRun(e2.Work, "mod", "download", "-json", path+"@v1.0.0")
	mod := filepath.Join(e2.Work, "scratch")
	if err := os.MkdirAll(mod, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/scratch\n\ngo 1.21\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	e2.MustRun(mod, "get", path+"@v1.1.0")
	if out := e2.MustRun(mod, "mod", "verify"); !strings.Contains(out, "all modules verified") {
		t.Fatalf("go mod verify: %s", out)
	}
	// v1.2.0 is in the proxy but not in the log: a mirror cannot add it.
	out, err := e2.Run(e2.Work, "mod", "download", path+"@v1.2.0")
	if err == nil || !strings.Contains(out, "404") {
		t.Fatalf("download of an unlogged version: %v\n%s", err, out)
	}
}
