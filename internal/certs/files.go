package certs

import (
	"os"
	"path/filepath"
)

// WriteFiles writes the pair to certFile (mode 0644) and keyFile (0600), each atomically.
// The key is written first: a reloading server that reads the new key with the old
// certificate finds a mismatch and keeps the pair it has, then takes the new pair when
// the certificate follows.
func (p KeyPair) WriteFiles(certFile, keyFile string) error {
	if err := WriteFile(keyFile, p.KeyPEM, 0o600); err != nil {
		return err
	}
	return WriteFile(certFile, p.CertPEM, 0o644)
}

// WriteFile replaces path with data atomically: it writes a temporary file in the same
// directory, flushes it to disk and renames it over path, so that a reader sees the old
// content or the new, never a mix.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
