//go:build !amd64 || purego

package sha256x

// haveAsm reports whether this build contains the SHA-NI assembly.
const haveAsm = false

// useSHANI reports whether the SHA-NI assembly is used.
const useSHANI = false

// The SHA-NI entry points exist only so that the portable code compiles;
// useSHANI is false, so they are never called.

func leafSHANIGo(data []byte) [32]byte          { panic("sha256x: no SHA-NI") }
func nodeSHANI(out, left, right *[32]byte)      { panic("sha256x: no SHA-NI") }
func nodesSHANI(dst, src *[32]byte, n int)      { panic("sha256x: no SHA-NI") }
func leavesSHANI(dst [][32]byte, data [][]byte) { panic("sha256x: no SHA-NI") }
