package sumdbserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"golang.org/x/mod/module"

	"github.com/tlogkit/tlogkit/sumdbserver"
)

// A server over an in-memory log, with a source that makes up go.sum lines,
// answering a lookup of a module version it did not hold before.
func Example() {
	src := sumdbserver.SourceFunc(func(ctx context.Context, m module.Version) ([]byte, error) {
		return fmt.Appendf(nil, "%s %s h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n%s %s/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
			m.Path, m.Version, m.Path, m.Version), nil
	})
	s, err := sumdbserver.NewServer(sumdbserver.Config{Log: newMemLog(testSKey), Source: src})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()

	resp, err := ts.Client().Get(ts.URL + "/lookup/github.com/!burnt!sushi/toml@v1.3.2")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Record id, record text, blank line, then the signed tree head.
	lines := strings.Split(string(body), "\n")
	for _, l := range lines[:7] {
		fmt.Println(l)
	}
	// Output:
	// 200 OK text/plain; charset=UTF-8
	// 0
	// github.com/BurntSushi/toml v1.3.2 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	// github.com/BurntSushi/toml v1.3.2/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	//
	// go.sum database tree
	// 1
	// uDAkn0fhZq+2ozrJkVzPuZTfSYWsbVKH+4mDOkW0oRw=
}
