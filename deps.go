//go:build tools

package tlogkit

import (
	_ "github.com/cockroachdb/pebble/v2"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/mod/sumdb"
)
