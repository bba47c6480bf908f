package tlog

import (
	"reflect"
	"testing"

	xtlog "golang.org/x/mod/sumdb/tlog"
)

// TestAPIMatchesXmod checks that every x/mod function and type this
// package mirrors has the same signature, so that switching the import
// path compiles. (Both packages are named tlog, so the type strings of
// matching signatures are equal.)
func TestAPIMatchesXmod(t *testing.T) {
	pairs := []struct {
		name      string
		ours, xmd any
	}{
		{"ParseHash", ParseHash, xtlog.ParseHash},
		{"RecordHash", RecordHash, xtlog.RecordHash},
		{"NodeHash", NodeHash, xtlog.NodeHash},
		{"StoredHashIndex", StoredHashIndex, xtlog.StoredHashIndex},
		{"SplitStoredHashIndex", SplitStoredHashIndex, xtlog.SplitStoredHashIndex},
		{"StoredHashCount", StoredHashCount, xtlog.StoredHashCount},
		{"StoredHashes", StoredHashes, xtlog.StoredHashes},
		{"StoredHashesForRecordHash", StoredHashesForRecordHash, xtlog.StoredHashesForRecordHash},
		{"TreeHash", TreeHash, xtlog.TreeHash},
		{"ProveRecord", ProveRecord, xtlog.ProveRecord},
		{"CheckRecord", CheckRecord, xtlog.CheckRecord},
		{"ProveTree", ProveTree, xtlog.ProveTree},
		{"CheckTree", CheckTree, xtlog.CheckTree},
		{"Hash.String", Hash.String, xtlog.Hash.String},
		{"Hash.MarshalJSON", Hash.MarshalJSON, xtlog.Hash.MarshalJSON},
		{"(*Hash).UnmarshalJSON", (*Hash).UnmarshalJSON, (*xtlog.Hash).UnmarshalJSON},
		{"HashReaderFunc.ReadHashes", HashReaderFunc.ReadHashes, xtlog.HashReaderFunc.ReadHashes},
		{"Hash", Hash{}, xtlog.Hash{}},
		{"Tree", Tree{}, xtlog.Tree{}},
		{"RecordProof", RecordProof{}, xtlog.RecordProof{}},
		{"TreeProof", TreeProof{}, xtlog.TreeProof{}},
		{"HashReaderFunc", HashReaderFunc(nil), xtlog.HashReaderFunc(nil)},
		{"HashReader", (*HashReader)(nil), (*xtlog.HashReader)(nil)},
		{"HashSize", HashSize, xtlog.HashSize},
	}
	for _, p := range pairs {
		a, b := reflect.TypeOf(p.ours), reflect.TypeOf(p.xmd)
		if a.String() != b.String() || a.Kind() != b.Kind() {
			t.Errorf("%s: %v, x/mod %v", p.name, a, b)
		}
		if a.Kind() == reflect.Struct {
			for i := range a.NumField() {
				if a.Field(i).Name != b.Field(i).Name || a.Field(i).Type.String() != b.Field(i).Type.String() {
					t.Errorf("%s field %d: %v, x/mod %v", p.name, i, a.Field(i), b.Field(i))
				}
			}
		}
		if a.Kind() == reflect.Pointer && a.Elem().Kind() == reflect.Interface {
			ai, bi := a.Elem(), b.Elem()
			if ai.NumMethod() != bi.NumMethod() || ai.Method(0).Name != bi.Method(0).Name || ai.Method(0).Type.String() != bi.Method(0).Type.String() {
				t.Errorf("%s: methods differ", p.name)
			}
		}
	}
	if HashSize != xtlog.HashSize {
		t.Error("HashSize differs")
	}
}
