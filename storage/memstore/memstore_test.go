package memstore_test

import (
	"testing"

	"github.com/tlogkit/tlogkit/storage"
	"github.com/tlogkit/tlogkit/storage/memstore"
	"github.com/tlogkit/tlogkit/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		var cur *memstore.Store
		return func() (storage.Backend, error) {
			if cur == nil {
				cur = memstore.New()
				return cur, nil
			}
			s, err := cur.Reopen()
			if err != nil {
				return nil, err
			}
			cur = s
			return s, nil
		}
	})
}
