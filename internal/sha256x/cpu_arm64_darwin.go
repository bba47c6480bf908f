//go:build arm64 && darwin && !purego

package sha256x

// useAsm is true: every Apple arm64 CPU has the SHA-256 instructions.
const useAsm = true
