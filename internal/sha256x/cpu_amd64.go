//go:build amd64 && !purego

package sha256x

// useAsm reports whether the CPU has the SHA extensions and the SSSE3 and
// SSE4.1 instructions the assembly also uses. It is computed once when the
// package is initialised and never changes.
var useAsm = detectSHANI()

func detectSHANI() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		ssse3  = 1 << 9  // CPUID.1:ECX
		sse41  = 1 << 19 // CPUID.1:ECX
		shaExt = 1 << 29 // CPUID.(EAX=7,ECX=0):EBX
	)
	return ecx1&ssse3 != 0 && ecx1&sse41 != 0 && ebx7&shaExt != 0
}

// cpuid executes the CPUID instruction.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
