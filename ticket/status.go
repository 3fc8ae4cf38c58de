package ticket

// Status of a ticket in the handling loop of the work standard.
type Status string

const (
	StatusIntake    Status = "intake"    // 受理中: waiting for an agent to dispose of it
	StatusAnswered  Status = "answered"  // 已答复: answered directly, waiting for follow-up or close
	StatusClosed    Status = "closed"    // 已办结
	StatusArchived  Status = "archived"  // 已归档
	StatusDiscarded Status = "discarded" // 无效: not a matter (counted as invalid)
)

// statusLabels are the Chinese names the UI shows.
var statusLabels = map[Status]string{
	StatusIntake:    "受理中",
	StatusAnswered:  "已答复",
	StatusClosed:    "已办结",
	StatusArchived:  "已归档",
	StatusDiscarded: "无效",
}

// Label returns the Chinese name of s (s itself when unknown).
func (s Status) Label() string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

// natureLabels are the standard's names of the natures.
var natureLabels = map[Nature]string{Consult: "咨询", Help: "求助", Suggestion: "建议", Complaint: "投诉"}

// Label returns the Chinese name of n.
func (n Nature) Label() string {
	if l, ok := natureLabels[n]; ok {
		return l
	}
	return string(n)
}
