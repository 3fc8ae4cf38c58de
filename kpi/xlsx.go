package kpi

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// Sheet names of the workbook.
const (
	SheetSummary = "总体指标"
	SheetUnits   = "承办单位"
	SheetDays    = "每日指标"
)

// Definitions as the city office writes them (口径), for the summary sheet.
var definitions = [11]string{
	"实际接听电话量 / 来电呼入总量",
	"15秒内完成的应答数 / 应答总数",
	"当日回复短信数 / 当日收到短信总量（排除无效信息）",
	"对工作人员的有效投诉数 / 有效电话数",
	"服务过程满意（含基本满意）数 / 呼入呼出评价总数",
	"按时转办件数 / 应转办件数",
	"承办单位按期回复件数 / 应回复件数",
	"合理诉求满意件数 / 合理诉求总件数（排除联系不上）",
	"来电人确认已答复件数 / 回访件数（排除保密及两次联系不上）",
	"退回重办件数 / 办理总件数",
	"三日内回访件数 / 应回访件数（排除联系不上）",
}

func targetText(d Def) string {
	op := "≥"
	if d.AtMost {
		op = "≤"
	}
	return fmt.Sprintf("%s%g%%", op, d.Target*100)
}

// WriteXLSX renders a period's detail as a workbook: the eleven figures, one
// row per unit (KPIs 7 to 11) and one row per day.
func (s *Service) WriteXLSX(d Detail, w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	title, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: &excelize.Alignment{Horizontal: "center"}})
	head, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"DDEBF7"}, Pattern: 1},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
		Border:    []excelize.Border{{Type: "left", Style: 1}, {Type: "right", Style: 1}, {Type: "top", Style: 1}, {Type: "bottom", Style: 1}}})
	pct, _ := f.NewStyle(&excelize.Style{NumFmt: 10})
	miss, _ := f.NewStyle(&excelize.Style{NumFmt: 10, Font: &excelize.Font{Color: "C00000", Bold: true}})

	period := d.From + " 至 " + d.To
	scope := s.City + "12345市民热线"
	if d.Unit != nil {
		scope += " · " + *d.Unit
	}
	// 总体指标
	sh := SheetSummary
	f.SetCellValue(sh, "A1", scope+"工作指标")
	f.MergeCell(sh, "A1", "H1")
	f.SetCellStyle(sh, "A1", "A1", title)
	f.SetCellValue(sh, "A2", "统计期间："+period)
	f.SetSheetRow(sh, "A4", &[]any{"序号", "指标", "目标", "分子", "分母", "完成值", "是否达标", "口径"})
	f.SetCellStyle(sh, "A4", "H4", head)
	for i, k := range d.KPIs {
		row := 5 + i
		var v any = "—"
		met := "—"
		if k.Value != nil {
			v = *k.Value
			met = map[bool]string{true: "达标", false: "未达标"}[k.Met]
		}
		cell := fmt.Sprintf("A%d", row)
		f.SetSheetRow(sh, cell, &[]any{k.ID, k.Name, targetText(Defs[i]), k.Numerator, k.Denominator, v, met, definitions[i]})
		st := pct
		if k.Value != nil && !k.Met {
			st = miss
		}
		f.SetCellStyle(sh, fmt.Sprintf("F%d", row), fmt.Sprintf("F%d", row), st)
	}
	f.SetColWidth(sh, "A", "A", 6)
	f.SetColWidth(sh, "B", "B", 18)
	f.SetColWidth(sh, "C", "G", 11)
	f.SetColWidth(sh, "H", "H", 52)

	// 承办单位: KPIs 7..11 per unit.
	if _, err := f.NewSheet(SheetUnits); err != nil {
		return err
	}
	sh = SheetUnits
	f.SetCellValue(sh, "A1", scope+"承办单位指标（"+period+"）")
	f.MergeCell(sh, "A1", "Q1")
	f.SetCellStyle(sh, "A1", "A1", title)
	f.SetCellValue(sh, "A3", "承办单位")
	f.SetCellValue(sh, "B3", "类型")
	f.MergeCell(sh, "A3", "A4")
	f.MergeCell(sh, "B3", "B4")
	unitDefs := Defs[6:]
	for j, def := range unitDefs {
		c0, _ := excelize.CoordinatesToCellName(3+3*j, 3)
		c2, _ := excelize.CoordinatesToCellName(5+3*j, 3)
		f.SetCellValue(sh, c0, def.Name+"（"+targetText(def)+"）")
		f.MergeCell(sh, c0, c2)
		for k, sub := range []string{"分子", "分母", "完成值"} {
			c, _ := excelize.CoordinatesToCellName(3+3*j+k, 4)
			f.SetCellValue(sh, c, sub)
		}
	}
	f.SetCellStyle(sh, "A3", "Q4", head)
	for i, u := range d.Units {
		row := 5 + i
		vals := []any{u.UnitName, kindName(u.Kind)}
		for _, k := range u.KPIs[6:] {
			var v any = "—"
			if k.Value != nil {
				v = *k.Value
			}
			vals = append(vals, k.Numerator, k.Denominator, v)
		}
		f.SetSheetRow(sh, fmt.Sprintf("A%d", row), &vals)
		for j := range unitDefs {
			c, _ := excelize.CoordinatesToCellName(5+3*j, row)
			st := pct
			if k := u.KPIs[6+j]; k.Value != nil && !k.Met {
				st = miss
			}
			f.SetCellStyle(sh, c, c, st)
		}
	}
	f.SetColWidth(sh, "A", "A", 30)
	f.SetColWidth(sh, "B", "Q", 10)
	f.SetPanes(sh, &excelize.Panes{Freeze: true, XSplit: 1, YSplit: 4, TopLeftCell: "B5", ActivePane: "bottomRight"})

	// 每日指标
	if _, err := f.NewSheet(SheetDays); err != nil {
		return err
	}
	sh = SheetDays
	f.SetCellValue(sh, "A1", scope+"每日指标（"+period+"）")
	f.MergeCell(sh, "A1", "L1")
	f.SetCellStyle(sh, "A1", "A1", title)
	hdr := []any{"日期"}
	for _, def := range Defs {
		hdr = append(hdr, def.Name+"\n"+targetText(def))
	}
	f.SetSheetRow(sh, "A3", &hdr)
	f.SetCellStyle(sh, "A3", "L3", head)
	f.SetRowHeight(sh, 3, 32)
	for i, day := range d.Days {
		row := 4 + i
		vals := []any{day.Date}
		for _, k := range day.KPIs {
			if k.Value != nil {
				vals = append(vals, *k.Value)
			} else {
				vals = append(vals, "—")
			}
		}
		f.SetSheetRow(sh, fmt.Sprintf("A%d", row), &vals)
		for j, k := range day.KPIs {
			c, _ := excelize.CoordinatesToCellName(2+j, row)
			st := pct
			if k.Value != nil && !k.Met {
				st = miss
			}
			f.SetCellStyle(sh, c, c, st)
		}
	}
	f.SetColWidth(sh, "A", "A", 12)
	f.SetColWidth(sh, "B", "L", 12)
	f.SetPanes(sh, &excelize.Panes{Freeze: true, XSplit: 1, YSplit: 3, TopLeftCell: "B4", ActivePane: "bottomRight"})
	f.SetActiveSheet(0)
	return f.Write(w)
}

func kindName(k string) string {
	return map[string]string{"district": "县市区", "street": "街道/乡镇", "community": "社区/村", "department": "市直部门",
		"subunit": "下属单位", "company": "公共服务企业"}[k]
}
