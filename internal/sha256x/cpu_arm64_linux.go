//go:build arm64 && linux && !purego

package sha256x

import (
	"encoding/binary"
	"os"
)

// useAsm reports whether the CPU has the ARMv8 SHA-256 instructions, as
// the kernel tells in the auxiliary vector (AT_HWCAP, HWCAP_SHA2). It is
// computed once when the package is initialised and never changes; if the
// vector cannot be read, the portable code is used.
var useAsm = detectSHA2()

func detectSHA2() bool {
	const (
		atHWCAP   = 16
		hwcapSHA2 = 1 << 6
	)
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return false
	}
	for ; len(auxv) >= 16; auxv = auxv[16:] {
		tag, val := binary.LittleEndian.Uint64(auxv), binary.LittleEndian.Uint64(auxv[8:])
		if tag == atHWCAP {
			return val&hwcapSHA2 != 0
		}
	}
	return false
}
