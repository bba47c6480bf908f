// Package modcheck decides which module versions a checksum database
// accepts: exactly those the go command asks for, and that sum.golang.org
// serves.
//
// A version is accepted when golang.org/x/mod/module.Check accepts the
// path and version, the version is canonical in the sense of
// module.CanonicalVersion (which keeps the "+incompatible" build suffix and
// no other), and a "+incompatible" version is one whose major version does
// not match the module path (v2 or more on a path without a /vN or .vN
// suffix): the go command refuses "+incompatible" where the major version is
// compatible with the path, as for v1.2.3+incompatible or
// example.com/m/v2@v2.0.0+incompatible, which module.Check lets through.
//
// Examples:
//
//	example.com/m v1.2.3                        ok
//	github.com/docker/docker v24.0.7+incompatible ok
//	example.com/m v1.2                          not canonical (v1.2.0)
//	example.com/m v1.2.3+build                  not canonical (v1.2.3)
//	example.com/m v1.2.3+incompatible           v1 is compatible
//	example.com/m/v2 v2.0.0+incompatible        v2 is compatible
//	example.com/m v2.0.0                        module.Check: should be v0 or v1
package modcheck

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Check reports whether path@version names a module version that the go
// command would look up in a checksum database. The error, if any, names
// the path and version.
func Check(path, version string) error {
	if err := module.Check(path, version); err != nil {
		return err
	}
	if c := module.CanonicalVersion(version); c != version {
		return &module.ModuleError{Path: path, Err: &module.InvalidVersionError{
			Version: version, Err: fmt.Errorf("not canonical (want %s)", c)}}
	}
	if base, ok := strings.CutSuffix(version, "+incompatible"); ok {
		if _, pathMajor, _ := module.SplitPathVersion(path); module.MatchPathMajor(base, pathMajor) {
			return &module.ModuleError{Path: path, Err: &module.InvalidVersionError{
				Version: version, Err: errors.New("+incompatible suffix not allowed: major version " + semver.Major(base) + " is compatible")}}
		}
	}
	return nil
}
