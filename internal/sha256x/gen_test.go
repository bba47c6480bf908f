package sha256x

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGeneratedAsmUpToDate checks that sha256x_amd64.s is what _gen
// writes, so the generator stays the source of truth for the assembly.
func TestGeneratedAsmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go tool: %v", err)
	}
	want, err := exec.Command(goTool, "run", "./_gen").Output()
	if err != nil {
		t.Fatalf("go run ./_gen: %v", err)
	}
	got, err := os.ReadFile("sha256x_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("sha256x_amd64.s is stale: run go generate")
	}
}
