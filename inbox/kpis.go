package inbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/kpi"
	"hotline/store"
)

// KPI computes the eleven KPIs and the hot issues (kpi.Service).
type KPI interface {
	Detail(ctx context.Context, q kpi.Query) (kpi.Detail, error)
	WriteXLSX(d kpi.Detail, w io.Writer) error
	Hot(ctx context.Context, now time.Time, o kpi.HotOptions) (kpi.HotReport, error)
}

// kpiRole: the dashboard is the admin's and the supervision office's.
func kpiRole(u store.UserView) bool { return u.Role == auth.RoleAdmin || u.Role == auth.RoleSupervisor }

func (h *Handler) kpiOnly(c *gin.Context) {
	if h.KPI == nil {
		h.errorPage(c, http.StatusNotFound, "未启用", "工作指标未启用。")
		return
	}
	if u, _ := currentUser(c); !kpiRole(u) {
		h.errorPage(c, http.StatusForbidden, "无权访问", "仅管理员和督办室可以查看工作指标。")
	}
}

// kpiDefs are the standard's definitions (口径) shown under each KPI's name.
var kpiDefs = [11]string{
	"实际接听电话量 / 来电呼入总量",
	"15 秒内完成的应答数 / 应答总数",
	"当日回复短信数 / 当日收到短信总量（排除无效信息）",
	"对工作人员的有效投诉数 / 有效电话数",
	"服务过程满意（含基本满意）数 / 呼入呼出评价总数",
	"按时转办件数 / 应转办件数",
	"承办单位按期回复件数 / 应回复件数",
	"合理诉求满意件数 / 合理诉求总件数（排除联系不上）",
	"来电人确认已答复件数 / 回访件数（排除保密及联系不上）",
	"退回重办件数 / 办理总件数",
	"三日内回访件数 / 应回访件数（排除联系不上）",
}

func targetText(d kpi.Def) string {
	op := "≥"
	if d.AtMost {
		op = "≤"
	}
	return fmt.Sprintf("%s%g%%", op, d.Target*100)
}

func pct(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", *v*100)
}

type kpiRow struct {
	ID                int
	Name, Def         string
	Num, Den          int64
	Value, Target     string
	Met, Miss, NoData bool
	Chart             chartView
}

type kpiCell struct {
	Value, Frac  string
	Miss, NoData bool
}

type unitRow struct {
	Name  string
	Cells []kpiCell
	Miss  bool
}

type hotView struct {
	Kind, Term, Ratio string
	Count             int
	Terms             []string
	Tickets           []string
	First             string
}

type kpisView struct {
	base
	From, To  string
	Quick     []option
	Rows      []kpiRow
	UnitHead  []string
	Units     []unitRow
	UnitMiss  int
	Hot       []hotView
	HotWindow string
	HotError  string
	XLSX      string
	Missed    int
	Days      int
}

// period reads from/to (YYYY-MM-DD, city time); both empty: this month.
func (h *Handler) period(c *gin.Context) (from, to time.Time, msg string) {
	loc := h.Opt.Location
	now := time.Now().In(loc)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	last := first.AddDate(0, 1, -1)
	f, t := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	if f == "" && t == "" {
		return first, last, ""
	}
	if f == "" {
		f = first.Format(time.DateOnly)
	}
	if t == "" {
		t = last.Format(time.DateOnly)
	}
	from, to, err := kpi.ParseDates(f, t, loc)
	if err != nil {
		return first, last, "统计期间无效：请选择开始和结束日期，结束日期不早于开始日期，期间不超过 400 天。已显示本月。"
	}
	return from, to, ""
}

func (h *Handler) kpiPage(c *gin.Context) {
	from, to, msg := h.period(c)
	status := http.StatusOK
	v := kpisView{base: h.base(c, "工作指标", "kpis"), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	if msg != "" {
		v.Error, status = msg, http.StatusBadRequest
	}
	loc := h.Opt.Location
	now := time.Now().In(loc)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	prev := month.AddDate(0, -1, 0)
	link := func(f, t time.Time) string {
		return "/inbox/kpis?" + url.Values{"from": {f.Format(time.DateOnly)}, "to": {t.Format(time.DateOnly)}}.Encode()
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	v.Quick = []option{{link(month, month.AddDate(0, 1, -1)), "本月"}, {link(prev, month.AddDate(0, 0, -1)), "上月"},
		{link(today.AddDate(0, 0, -6), today), "最近 7 天"}, {link(today.AddDate(0, 0, -29), today), "最近 30 天"}}
	v.XLSX = "/inbox/kpis.xlsx?" + url.Values{"from": {v.From}, "to": {v.To}}.Encode()

	d, err := h.KPI.Detail(c.Request.Context(), kpi.Query{From: from, To: to})
	if err != nil {
		h.internal(c, "kpi detail", err)
		return
	}
	v.Days = len(d.Days)
	for i, f := range d.KPIs {
		def := kpi.Defs[i]
		r := kpiRow{ID: f.ID, Name: f.Name, Def: kpiDefs[i], Num: f.Numerator, Den: f.Denominator, Value: pct(f.Value),
			Target: targetText(def), Met: f.Met, NoData: f.Value == nil, Miss: f.Value != nil && !f.Met}
		if r.Miss {
			v.Missed++
		}
		r.Chart = trend(i, d.Days)
		v.Rows = append(v.Rows, r)
	}
	for i, def := range kpi.Defs {
		if def.Unit {
			v.UnitHead = append(v.UnitHead, fmt.Sprintf("%d. %s（%s）", def.ID, def.Name, targetText(kpi.Defs[i])))
		}
	}
	for _, u := range d.Units {
		row := unitRow{Name: u.UnitName}
		for i, f := range u.KPIs {
			if !kpi.Defs[i].Unit {
				continue
			}
			cell := kpiCell{Value: pct(f.Value), NoData: f.Value == nil, Miss: f.Value != nil && !f.Met}
			if f.Value != nil {
				cell.Frac = fmt.Sprintf("%d/%d", f.Numerator, f.Denominator)
			}
			row.Miss = row.Miss || cell.Miss
			row.Cells = append(row.Cells, cell)
		}
		if row.Miss {
			v.UnitMiss++
		}
		v.Units = append(v.Units, row)
	}
	o := h.Opt.Hot
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	v.HotWindow = humanWindow(o.Window)
	hot, err := h.KPI.Hot(c.Request.Context(), time.Now(), o)
	if err != nil {
		h.Log.Warn("inbox hot issues", "err", err)
		v.HotError = "热点统计暂不可用。"
	}
	for _, s := range hot.Spikes {
		hv := hotView{Kind: map[string]string{"category": "分类", "keyword": "关键词"}[s.Kind], Term: s.Term, Count: s.Count,
			Ratio: fmt.Sprintf("%.1f", s.Ratio), Terms: s.Terms}
		if len(s.Tickets) > 0 {
			hv.First = s.Tickets[0]
		}
		hv.Tickets = s.Tickets
		if len(hv.Tickets) > 5 {
			hv.Tickets = hv.Tickets[:5]
		}
		v.Hot = append(v.Hot, hv)
	}
	h.render(c, status, "kpis.html", v)
}

func humanWindow(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d 天", int(d/(24*time.Hour)))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d 小时", int(d/time.Hour))
	}
	return fmt.Sprintf("%d 分钟", int(d/time.Minute))
}

// kpiXLSX exports the period (GET /inbox/kpis.xlsx, the session's user): the
// same workbook as GET /api/v1/kpis.xlsx.
func (h *Handler) kpiXLSX(c *gin.Context) {
	from, to, msg := h.period(c)
	if msg != "" {
		h.errorPage(c, http.StatusBadRequest, "统计期间无效", msg)
		return
	}
	d, err := h.KPI.Detail(c.Request.Context(), kpi.Query{From: from, To: to})
	if err != nil {
		h.internal(c, "kpi detail", err)
		return
	}
	var buf bytes.Buffer
	if err := h.KPI.WriteXLSX(d, &buf); err != nil {
		h.internal(c, "kpi xlsx", err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="kpi-%s-%s.xlsx"`, d.From, d.To))
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}

// ---- trend charts: inline SVG drawn on the server ----------------------------

// Geometry of a chart (viewBox units).
const (
	chartW, chartH           = 340.0, 150.0
	plotL, plotR             = 42.0, 330.0
	plotT, plotB             = 10.0, 122.0
	chartMinSpan             = 0.04
	chartAtMostHeadroomRatio = 1.5
)

type chartPoint struct {
	X, Y  string
	Title string
	Miss  bool
}

type chartLabel struct {
	X, Y, Text, Anchor string
}

type chartView struct {
	ID        int
	Title     string
	MidX      string
	MidY      string
	Lines     []string // polyline points, one per run of days with data
	Points    []chartPoint
	TargetY   string
	Target    string
	YLabels   []chartLabel
	XLabels   []chartLabel
	Grid      []string // y of the horizontal grid lines
	Empty     bool
	W, H      string
	PlotL     string
	PlotR     string
	TargetTxY string
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// trend draws KPI i per day: the values as a line (broken where a day has no
// data), each day a point (red when it misses), the target as a dashed line.
func trend(i int, days []kpi.Day) chartView {
	def := kpi.Defs[i]
	cv := chartView{ID: def.ID, Title: fmt.Sprintf("%d. %s", def.ID, def.Name), MidX: f1((plotL + plotR) / 2), MidY: f1((plotT + plotB) / 2), W: f1(chartW), H: f1(chartH), PlotL: f1(plotL), PlotR: f1(plotR),
		Target: "目标 " + targetText(def)}
	var vals []float64
	for _, d := range days {
		if v := d.KPIs[i].Value; v != nil {
			vals = append(vals, *v)
		}
	}
	lo, hi := def.Target, def.Target
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if def.AtMost {
		lo = 0
		hi = math.Max(hi*1.15, def.Target*chartAtMostHeadroomRatio)
	} else {
		hi = 1
		lo -= (hi - lo) * 0.15
	}
	if hi-lo < chartMinSpan {
		if def.AtMost {
			hi = lo + chartMinSpan
		} else {
			lo = hi - chartMinSpan
		}
	}
	lo, hi = math.Max(0, math.Floor(lo*100)/100), math.Min(1, math.Ceil(hi*100)/100)
	if hi <= lo {
		hi = lo + 0.01
	}
	y := func(v float64) float64 { return plotB - (v-lo)/(hi-lo)*(plotB-plotT) }
	n := len(days)
	x := func(k int) float64 {
		if n <= 1 {
			return (plotL + plotR) / 2
		}
		return plotL + float64(k)/float64(n-1)*(plotR-plotL)
	}
	ty := y(def.Target)
	cv.TargetY = f1(ty)
	cv.TargetTxY = f1(ty - 3)
	if ty-3 < plotT+8 {
		cv.TargetTxY = f1(ty + 11)
	}
	for _, g := range []float64{lo, (lo + hi) / 2, hi} {
		cv.Grid = append(cv.Grid, f1(y(g)))
		cv.YLabels = append(cv.YLabels, chartLabel{X: f1(plotL - 4), Y: f1(y(g) + 3), Text: trimPct(g), Anchor: "end"})
	}
	if n > 0 {
		marks := []int{0, n / 2, n - 1}
		if n < 3 {
			marks = []int{0, n - 1}
		}
		prev := -1
		for j, k := range marks {
			if k == prev {
				continue
			}
			prev = k
			anchor := "middle"
			if j == 0 {
				anchor = "start"
			} else if j == len(marks)-1 {
				anchor = "end"
			}
			if n == 1 {
				anchor = "middle"
			}
			cv.XLabels = append(cv.XLabels, chartLabel{X: f1(x(k)), Y: f1(chartH - 10), Text: days[k].Date[5:], Anchor: anchor})
		}
	}
	var run []string
	flush := func() {
		if len(run) > 1 {
			cv.Lines = append(cv.Lines, strings.Join(run, " "))
		}
		run = nil
	}
	for k, d := range days {
		f := d.KPIs[i]
		if f.Value == nil {
			flush()
			continue
		}
		px, py := f1(x(k)), f1(y(*f.Value))
		run = append(run, px+","+py)
		cv.Points = append(cv.Points, chartPoint{X: px, Y: py, Miss: !f.Met,
			Title: fmt.Sprintf("%s：%s（%d/%d）", d.Date, pct(f.Value), f.Numerator, f.Denominator)})
	}
	flush()
	cv.Empty = len(cv.Points) == 0
	return cv
}

func trimPct(v float64) string {
	s := fmt.Sprintf("%.1f", v*100)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".")
	return s + "%"
}
