package sumdbclient_test

import (
	"context"
	"fmt"

	"github.com/tlogkit/tlogkit/sumdbclient"
)

// Look up a module version in a copy of sum.golang.org's data, as the go
// command caches it, verifying everything against the database's key.
func Example() {
	c, err := sumdbclient.New(sumdbclient.Options{
		Source:      sumdbclient.NewDirSource("../testdata/sum.golang.org"),
		VerifierKey: "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	lines, err := c.Lookup(context.Background(), "rsc.io/quote", "v1.5.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range lines {
		fmt.Println(line)
	}
	fmt.Println("tree size:", c.Latest().Tree.N)
	// Output:
	// rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=
	// rsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=
	// tree size: 51929436
}
