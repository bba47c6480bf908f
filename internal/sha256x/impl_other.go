//go:build !(amd64 || arm64) || purego

package sha256x

// haveAsm reports whether this build contains the SHA-NI assembly.
const haveAsm = false

// useAsm reports whether the SHA-NI assembly is used.
const useAsm = false

// The SHA-NI entry points exist only so that the portable code compiles;
// useAsm is false, so they are never called.

func leafAsmGo(data []byte) [32]byte          { panic("sha256x: no SHA-NI") }
func nodeAsm(out, left, right *[32]byte)      { panic("sha256x: no SHA-NI") }
func nodesAsm(dst, src *[32]byte, n int)      { panic("sha256x: no SHA-NI") }
func leavesAsm(dst [][32]byte, data [][]byte) { panic("sha256x: no SHA-NI") }
