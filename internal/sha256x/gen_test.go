package sha256x

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGeneratedAsmUpToDate checks that the assembly files are what _gen
// writes, so the generator stays the source of truth for the assembly.
func TestGeneratedAsmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go tool: %v", err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		want, err := exec.Command(goTool, "run", "./_gen", arch).Output()
		if err != nil {
			t.Fatalf("go run ./_gen %s: %v", arch, err)
		}
		file := "sha256x_" + arch + ".s"
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate", file)
		}
	}
}
