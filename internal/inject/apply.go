package inject

import (
	jsonpatch "github.com/evanphx/json-patch/v5"
)

// Apply applies a Result's patch to the raw pod it was computed from, giving the injected
// pod. A nil patch gives raw back. The CLI uses it; the webhook leaves it to the API server.
func Apply(raw, patch []byte) ([]byte, error) {
	if patch == nil {
		return raw, nil
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, err
	}
	return p.Apply(raw)
}
