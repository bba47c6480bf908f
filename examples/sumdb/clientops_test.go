package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	xsumdb "golang.org/x/mod/sumdb"
)

// clientOps implements x/mod's sumdb.ClientOps over HTTP with in-memory
// config and cache; security errors fail the test.
type clientOps struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	config map[string][]byte
	cache  map[string][]byte
}

func newClientOps(t *testing.T, url, vkey string) *clientOps {
	return &clientOps{t: t, url: url, config: map[string][]byte{"key": []byte(vkey)}, cache: map[string][]byte{}}
}

func (c *clientOps) ReadRemote(path string) ([]byte, error) {
	resp, err := http.Get(c.url + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return data, err
}

func (c *clientOps) ReadConfig(file string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config[file], nil
}

func (c *clientOps) WriteConfig(file string, old, new []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(c.config[file], old) {
		return xsumdb.ErrWriteConflict
	}
	c.config[file] = new
	return nil
}

func (c *clientOps) ReadCache(file string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.cache[file]; ok {
		return d, nil
	}
	return nil, errors.New("not cached")
}

func (c *clientOps) WriteCache(file string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache[file] = data
}

func (c *clientOps) Log(msg string) {}

func (c *clientOps) SecurityError(msg string) { c.t.Errorf("security error: %s", msg) }
