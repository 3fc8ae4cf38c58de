package inbox

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/auth"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

var channelNames = map[normalize.Channel]string{
	normalize.Voice: "电话", normalize.SMS: "短信", normalize.WeChat: "微信", normalize.Website: "网站",
	normalize.MayorMailbox: "市长信箱", normalize.ProvinceMailbox: "省长信箱",
}

func channelName(ch normalize.Channel) string {
	if n, ok := channelNames[ch]; ok {
		return n
	}
	return string(ch)
}

func roleName(r string) string {
	for _, x := range auth.Roles {
		if x.Key == r {
			return x.Name
		}
	}
	return r
}

var deliveryNames = map[string]string{
	ticket.DeliveryReceived: "已接收", ticket.DeliveryQueued: "待发送", ticket.DeliverySent: "已发送",
	ticket.DeliveryFailed: "发送失败，重试中", ticket.DeliveryDead: "发送失败",
}

var replyKindNames = map[string]string{
	ticket.ReplyAnswered: "答复结果", ticket.ReplyTransferred: "已转办", ticket.ReplySuggestion: "建议",
	ticket.ReplyThanks: "感谢", ticket.ReplyOutOfRemit: "非本市事项", ticket.ReplyIncomplete: "信息不全",
	ticket.ReplyAgent: "坐席回复", "receipt": "收件回执", "survey": "短信回访",
}

// eventNames are the audit trail's event types in Chinese that are not
// pipeline actions (intake, the inbox, the channels, the province); the
// pipeline's actions are named by the table (pipeline.Action.Label).
var eventNames = map[string]string{
	"created": "创建工单", "message_joined": "追加来信", "reply_queued": "回复已排队", "reply_undeliverable": "回复无法送达",
	"reply_passive": "自动回复", "delivery_dead": "发送失败", "claimed": "认领", "taken_over": "接管", "released": "释放",
	"reclassified": "修改分类", "contact_merged": "合并来电人", "attachment_fetched": "附件已下载", "due_set": "设定期限",
	"province_answered": "省平台已接收", "province_event_queued": "报送省平台", "province_sent_up": "上报省平台",
	"reply_refused": "办理结果被退回",
}

// provinceEventNames are the provincial exchange's events (notes of
// province_event_queued).
var provinceEventNames = map[string]string{
	"accepted": "已受理", "transferred": "已转办", "extension_requested": "申请延期", "extended": "已延期",
	"replied": "已答复", "returned": "单位回退", "closed": "已办结",
}

// eventLabel names an audit event: the pipeline's actions by the table's
// labels, the others by eventNames.
func eventLabel(typ string) string {
	if a := pipeline.Action(typ); slices.Contains(pipeline.Actions(), a) {
		return a.Label()
	}
	return label(eventNames, typ)
}

// eventNote is an event's note as shown: keys the writers put there
// (reply kinds, provincial events, outbox routes) in Chinese.
func eventNote(typ, note string) string {
	switch typ {
	case "reply_queued", "reply_passive":
		return label(replyKindNames, note)
	case "province_event_queued":
		return label(provinceEventNames, note)
	case "delivery_dead":
		if via, rest, ok := strings.Cut(note, ": "); ok {
			if n, ok := viaNames[via]; ok {
				return n + "：" + rest
			}
		}
	}
	return note
}

var unitKinds = map[string]string{"district": "县市区", "street": "街道乡镇", "community": "社区村", "department": "市直部门",
	"subunit": "下属单位", "company": "公共服务企业"}

var viaNames = map[string]string{ticket.ViaSMS: "短信", ticket.ViaWeChat: "微信", ticket.ViaEmail: "电子邮件", ticket.ViaProvince: "省平台"}

func label(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// firstLine is the first non-empty line of s, cut to n characters.
func firstLine(s string, n int) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			s = l
			break
		}
	}
	if utf8.RuneCountInString(s) > n {
		r := []rune(s)
		return string(r[:n]) + "…"
	}
	return s
}

// human renders a duration the way the list shows ages and deadlines.
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Hour:
		s := int(d.Seconds())
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%d小时%d分", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%d天%d小时", int(d.Hours())/24, int(d.Hours())%24)
	}
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "刚刚"
	case d < time.Hour:
		return fmt.Sprintf("%d分钟", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d小时", int(d.Hours()))
	default:
		return fmt.Sprintf("%d天", int(d.Hours())/24)
	}
}

// countdown is the server-rendered text of a deadline; the script keeps it
// ticking with the same wording.
func countdown(deadline time.Time, now time.Time) string {
	d := deadline.Sub(now)
	if d < 0 {
		return "超时 " + human(d)
	}
	return "剩余 " + human(d)
}

var funcs = template.FuncMap{
	"channelName": channelName,
	"statusLabel": func(s any) string { return ticket.Status(fmt.Sprint(s)).Label() },
	"add":         func(a, b int) int { return a + b },
	"when":        func(t time.Time) string { return t.Format("01-02 15:04:05") }, // replaced per handler (city time)
	"natureLabel": func(n ticket.Nature) string {
		if n == "" {
			return "未定性"
		}
		return n.Label()
	},
	"deliveryLabel": func(s string) string { return label(deliveryNames, s) },
	"kindLabel":     func(s string) string { return label(replyKindNames, s) },
	"eventLabel":    eventLabel,
	"eventNote":     eventNote,
	"unitKind":      func(k string) string { return label(unitKinds, k) },
	"pct":           pct,
	"dateOf":        func(t time.Time) string { return t.Format("2006-01-02 15:04") },
	"roleName":      roleName,
	"firstLine":     firstLine,
	"rfc3339":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"unit":          func(id *int64) string { return unitText(id) },
	"size": func(n int64) string {
		switch {
		case n <= 0:
			return ""
		case n < 1024:
			return fmt.Sprintf("%d B", n)
		case n < 1<<20:
			return fmt.Sprintf("%.0f KB", float64(n)/1024)
		}
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	},
}

func unitText(id *int64) string {
	if id == nil {
		return ""
	}
	return fmt.Sprint(*id)
}

// citizenView is the citizen as one user may see them.
type citizenView struct {
	Name    string
	Phone   string
	Email   string
	Address string
	OpenID  string
	Hidden  bool // confidential and the user may not see contact data
	Masked  bool
}

// citizenFor applies the visibility rules: units never see a confidential
// ticket's contact data (like the API's redaction); in lists, phones are
// masked for units and for confidential tickets.
func citizenFor(u store.UserView, t ticket.Ticket, list bool) citizenView {
	c := t.Citizen
	if t.Confidential && !centre(u) {
		return citizenView{Name: "（保密）", Hidden: true}
	}
	v := citizenView{Name: c.Name, Phone: c.Phone, Email: c.Email, Address: c.Address, OpenID: c.OpenID}
	if list && (!centre(u) || t.Confidential) {
		if v.Phone != "" {
			v.Phone = normalize.MaskPhone(v.Phone)
		}
		v.Masked = true
		v.Email, v.OpenID = "", ""
	}
	if v.OpenID != "" && len(v.OpenID) > 10 {
		v.OpenID = v.OpenID[:6] + "…" + v.OpenID[len(v.OpenID)-4:]
	}
	return v
}
