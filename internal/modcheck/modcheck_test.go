package modcheck

import (
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		path, version string
		err           string // substring of the error; "" for none
	}{
		{"example.com/m", "v1.2.3", ""},
		{"example.com/m", "v0.0.0-20200101000000-abcdefabcdef", ""},
		{"example.com/m", "v1.2.3-pre.1", ""},
		{"example.com/m/v2", "v2.0.0", ""},
		{"example.com/m/v3", "v3.1.0-rc.1", ""},
		{"github.com/docker/docker", "v24.0.7+incompatible", ""},
		{"github.com/Azure/azure-sdk-for-go", "v68.0.0+incompatible", ""},
		{"example.com/m", "v2.0.0-20200101000000-abcdefabcdef+incompatible", ""},
		{"example.com/m", "v2.0.0-pre+incompatible", ""},
		{"gopkg.in/yaml.v3", "v3.0.1", ""},

		{"example.com/m", "v1.2", "not canonical (want v1.2.0)"},
		{"example.com/m", "v1", "not canonical (want v1.0.0)"},
		{"example.com/m", "v1.2.3+build", "not canonical (want v1.2.3)"},
		{"example.com/m", "v2.0+incompatible", "not a semantic version"},
		{"example.com/m", "v2.0.0+incompatible.1", "should be v0 or v1"},
		{"example.com/m", "v2.0.0+INCOMPATIBLE", "should be v0 or v1"},
		{"example.com/m", "v1.0.0+incompatible.1", "not canonical (want v1.0.0)"},
		{"example.com/m", "v1.2.3+incompatible", "major version v1 is compatible"},
		{"example.com/m", "v0.1.0+incompatible", "major version v0 is compatible"},
		{"example.com/m", "v2.0.0", "invalid version"},
		{"example.com/m/v2", "v2.0.0+incompatible", "major version v2 is compatible"},
		{"example.com/m/v2", "v3.0.0+incompatible", "should be v2, not v3"},
		{"example.com/m/v2", "v1.0.0", "invalid version"},
		{"gopkg.in/yaml.v3", "v3.0.1+incompatible", "major version v3 is compatible"},
		{"gopkg.in/check.v1", "v0.0.0-20161208181325-20d25e280405", ""},
		{"example.com/m", "1.2.3", "not a semantic version"},
		{"example.com/m", "latest", "not a semantic version"},
		{"Example.com/m", "v1.0.0", "malformed module path"},
		{"example.com/../m", "v1.0.0", "malformed module path"},
		{"", "v1.0.0", "malformed module path"},
	}
	for _, tt := range tests {
		err := Check(tt.path, tt.version)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("Check(%q, %q) = %v, want nil", tt.path, tt.version, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Check(%q, %q) = %v, want error containing %q", tt.path, tt.version, err, tt.err)
		case err != nil && strings.Contains(err.Error(), "version") && !strings.Contains(err.Error(), tt.version):
			t.Errorf("Check(%q, %q) = %v: does not name the version", tt.path, tt.version, err)
		}
		// Check is never looser than x/mod's own check.
		if err == nil && module.Check(tt.path, tt.version) != nil {
			t.Errorf("Check(%q, %q) accepts what module.Check refuses", tt.path, tt.version)
		}
	}
}
