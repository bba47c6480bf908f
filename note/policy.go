package note

import (
	"errors"
	"fmt"
	"strings"
)

// ErrPolicy reports a note without the cosignatures a CosignaturePolicy
// requires.
var ErrPolicy = errors.New("note: cosignature policy not met")

// A CosignaturePolicy requires a checkpoint to carry valid cosignatures
// (c2sp.org/tlog-cosignature) from at least K of Cosigners, the
// witnesses a client trusts: K of n.
type CosignaturePolicy struct {
	Cosigners []Verifier
	K         int
}

// Check returns nil if msg carries valid cosignatures by at least K
// distinct cosigners. A cosignature by one of them that does not verify
// fails the check. Otherwise the error wraps ErrPolicy and names the
// cosigners whose cosignatures are missing.
func (p CosignaturePolicy) Check(msg []byte) error {
	if p.K < 1 || p.K > len(p.Cosigners) {
		return fmt.Errorf("%w: %d of %d cosigners is not a policy", ErrPolicy, p.K, len(p.Cosigners))
	}
	n, err := Open(msg, VerifierList(p.Cosigners...))
	var sigs []Signature
	switch {
	case err == nil:
		sigs = n.Sigs
	case errors.Is(err, ErrUnverifiedNote):
	default:
		return fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	have := map[string]bool{}
	for _, s := range sigs {
		have[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] = true
	}
	if len(have) >= p.K {
		return nil
	}
	var missing []string
	for _, v := range p.Cosigners {
		if id := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()); !have[id] {
			missing = append(missing, id)
		}
	}
	return fmt.Errorf("%w: %d of the %d required cosignatures; missing: %s", ErrPolicy, len(have), p.K, strings.Join(missing, ", "))
}
