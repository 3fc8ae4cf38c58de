package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"hotline/store"
)

// Unit kinds of the units file.
var unitKinds = map[string]string{
	"district": "县市区", "street": "街道/乡镇", "community": "社区/村", "department": "市直部门", "subunit": "下属单位", "company": "公共服务企业",
}

// ParseUnits reads a units file: CSV with the header code,name,parent_code,kind
// (phone optional), UTF-8 (a BOM is ignored). Parents may come after children.
func ParseUnits(r io.Reader) ([]store.UnitRow, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("units: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("units: empty file")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"code", "name", "parent_code", "kind"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("units: header must have code,name,parent_code,kind (missing %s)", need)
		}
	}
	get := func(rec []string, k string) string {
		i, ok := col[k]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var rows []store.UnitRow
	seen := map[string]bool{}
	for n, rec := range recs[1:] {
		line := n + 2
		row := store.UnitRow{Code: get(rec, "code"), Name: get(rec, "name"), ParentCode: get(rec, "parent_code"),
			Kind: get(rec, "kind"), Phone: get(rec, "phone")}
		if row.Code == "" && row.Name == "" {
			continue
		}
		if row.Code == "" || row.Name == "" {
			return nil, fmt.Errorf("units line %d: code and name are required", line)
		}
		if _, ok := unitKinds[row.Kind]; !ok {
			return nil, fmt.Errorf("units line %d: kind %q is not one of district, street, community, department, subunit, company", line, row.Kind)
		}
		if seen[row.Code] {
			return nil, fmt.Errorf("units line %d: code %s appears twice", line, row.Code)
		}
		if row.ParentCode == row.Code {
			return nil, fmt.Errorf("units line %d: unit %s is its own parent", line, row.Code)
		}
		seen[row.Code] = true
		rows = append(rows, row)
	}
	return rows, nil
}

// ImportUnits parses and stores a units file.
func ImportUnits(ctx context.Context, st *store.Store, r io.Reader) (created, updated int, err error) {
	rows, err := ParseUnits(r)
	if err != nil {
		return 0, 0, err
	}
	return st.ImportUnits(ctx, rows)
}

// EnsureUnits imports the units file (or the built-in one) when there are no
// units yet. imported is 0 when units existed.
func EnsureUnits(ctx context.Context, st *store.Store, data []byte) (imported int, err error) {
	n, err := st.CountUnits(ctx)
	if err != nil || n > 0 {
		return 0, err
	}
	created, _, err := ImportUnits(ctx, st, bytes.NewReader(data))
	return created, err
}
