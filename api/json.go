package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// decodeStrict decodes one JSON object, refusing invalid UTF-8, unknown fields
// and trailing data.
func decodeStrict(b []byte, v any) error {
	if !utf8.Valid(b) {
		return errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
