package sumdbtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	xsumdb "golang.org/x/mod/sumdb"
)

// ClientOps implements golang.org/x/mod/sumdb's ClientOps over HTTP, with
// its configuration and cache in memory, so that x/mod's own Client can
// verify a server in a test. Security errors are recorded, never fatal:
// a test checks SecurityErrors.
type ClientOps struct {
	url    string
	client *http.Client

	mu       sync.Mutex
	config   map[string][]byte
	cache    map[string][]byte
	security []string
}

// NewClientOps returns ClientOps for the server at url (no trailing
// slash) with verifier key vkey, using client (http.DefaultClient if nil).
func NewClientOps(url, vkey string, client *http.Client) *ClientOps {
	if client == nil {
		client = http.DefaultClient
	}
	return &ClientOps{url: url, client: client,
		config: map[string][]byte{"key": []byte(vkey)},
		cache:  map[string][]byte{}}
}

// ReadRemote fetches path from the server; a status other than 200 is an
// error.
func (c *ClientOps) ReadRemote(path string) ([]byte, error) {
	resp, err := c.client.Get(c.url + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return data, err
}

// ReadConfig returns the configuration file (only "key" is set at first).
func (c *ClientOps) ReadConfig(file string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config[file], nil
}

// WriteConfig replaces file's content if it is still old.
func (c *ClientOps) WriteConfig(file string, old, new []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(c.config[file], old) {
		return xsumdb.ErrWriteConflict
	}
	c.config[file] = new
	return nil
}

// ReadCache returns a cached file.
func (c *ClientOps) ReadCache(file string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.cache[file]; ok {
		return d, nil
	}
	return nil, errors.New("not cached")
}

// WriteCache caches a file.
func (c *ClientOps) WriteCache(file string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache[file] = data
}

// Log discards x/mod's log messages.
func (c *ClientOps) Log(msg string) {}

// SecurityError records msg.
func (c *ClientOps) SecurityError(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.security = append(c.security, msg)
}

// SecurityErrors returns the security errors x/mod's client reported.
func (c *ClientOps) SecurityErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.security...)
}
