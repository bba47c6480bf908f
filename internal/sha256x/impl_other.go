package sha256x

// useSHANI reports whether the SHA-NI assembly is used.
const useSHANI = false

func blocksSHANI(h *[8]uint32, p []byte)        { panic("sha256x: no SHA-NI") }
func nodeSHANI(out, left, right *[32]byte)      { panic("sha256x: no SHA-NI") }
func nodesSHANI(dst, src *[32]byte, n int)      { panic("sha256x: no SHA-NI") }
func leavesSHANI(dst [][32]byte, data [][]byte) { panic("sha256x: no SHA-NI") }

// haveAsm reports whether this build contains the SHA-NI assembly.
const haveAsm = false
