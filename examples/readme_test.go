package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's layout table names every package a newcomer can open: each directory of
// internal/ and test/ is a row of it.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, parent := range []string{"internal", "test"} {
		entries, err := os.ReadDir(filepath.Join("..", parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			row := "| `" + parent + "/" + e.Name() + "` |"
			if !strings.Contains(string(readme), row) {
				t.Errorf("README.md's layout has no row %s", row)
			}
		}
	}
}
