//go:build arm64 && !linux && !darwin && !purego

package sha256x

// useAsm is false: this package has no way to ask these systems about the
// SHA-256 instructions without golang.org/x/sys, so it uses the portable
// code.
const useAsm = false
