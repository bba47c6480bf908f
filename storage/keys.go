package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/tlogkit/tlogkit/tlog"
)

// Key layout in the backend (all integers big-endian, so that keys sort in
// index order):
//
//	"c"                      latest signed checkpoint (a signed note)
//	"d" N(8) off(2)          records off.. of data tile N, each uvarint(len) || bytes;
//	                         a full data tile is the single value at off 0
//	"k" key                  uvarint(index) of the record appended with key
//	"m" end(8)               when records start..end-1 were logged (see times.go)
//	"t" L(1) N(8)            hash tile L/N: its level-8L hashes, 32 bytes each
//	"v"                      format version
const (
	prefixCheckpoint = 'c'
	prefixData       = 'd'
	prefixKey        = 'k'
	prefixTile       = 't'
	prefixVersion    = 'v'
)

var (
	keyCheckpoint = []byte{prefixCheckpoint}
	keyVersion    = []byte{prefixVersion}
	// formatVersion is the layout written: format 2 stores no partial
	// level-0 hash tile (Open recomputes it from the records). Format 1
	// stores are read and upgraded at Open.
	formatVersion  = []byte("tlogkit storage 2")
	formatVersion1 = []byte("tlogkit storage 1")
)

func tileKey(L int, n int64) []byte {
	k := make([]byte, 10)
	k[0] = prefixTile
	k[1] = byte(L)
	binary.BigEndian.PutUint64(k[2:], uint64(n))
	return k
}

func dataKey(n int64, off int) []byte {
	k := make([]byte, 11)
	k[0] = prefixData
	binary.BigEndian.PutUint64(k[1:], uint64(n))
	binary.BigEndian.PutUint16(k[9:], uint16(off))
	return k
}

// dataRange returns the key range of data tile n's chunks.
func dataRange(n int64) (start, end []byte) {
	start = dataKey(n, 0)
	end = make([]byte, 9)
	end[0] = prefixData
	binary.BigEndian.PutUint64(end[1:], uint64(n)+1)
	return start, end
}

func indexKey(key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = prefixKey
	copy(k[1:], key)
	return k
}

func encodeHashes(dst []byte, hashes []tlog.Hash) []byte {
	for i := range hashes {
		dst = append(dst, hashes[i][:]...)
	}
	return dst
}

func decodeHashes(data []byte) ([]tlog.Hash, error) {
	if len(data)%tlog.HashSize != 0 {
		return nil, fmt.Errorf("%w: hash tile of %d bytes", ErrCorrupt, len(data))
	}
	hashes := make([]tlog.Hash, len(data)/tlog.HashSize)
	for i := range hashes {
		copy(hashes[i][:], data[i*tlog.HashSize:])
	}
	return hashes, nil
}

func appendRecord(dst, rec []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rec)))
	return append(dst, rec...)
}

// decodeRecords appends the records of a data chunk to dst.
func decodeRecords(dst [][]byte, data []byte, maxRecord int) ([][]byte, error) {
	for len(data) > 0 {
		n, w := binary.Uvarint(data)
		if w <= 0 || n > uint64(maxRecord) || n > uint64(len(data)-w) {
			return nil, fmt.Errorf("%w: bad record in data tile", ErrCorrupt)
		}
		data = data[w:]
		dst = append(dst, data[:n:n])
		data = data[n:]
	}
	return dst, nil
}
