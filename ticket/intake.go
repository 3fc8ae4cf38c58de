package ticket

// Classification is what intake decided a message is about.
type Classification struct {
	Nature   Nature
	Category string
	Flags    []string
}

// Has reports whether flag is set.
func (c Classification) Has(flag string) bool {
	for _, f := range c.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// Reply is an outbound message intake wants sent at once.
type Reply struct {
	Kind string
	Text string
}

// Thread is the open ticket an arriving message joins, as the store found it.
type Thread struct {
	ID             int64
	No             string
	Status         Status
	Classification Classification
	Content        string
}

// Decision is what happens to the ticket a message creates or joins. A zero
// Status keeps the current one (intake for a new ticket).
type Decision struct {
	Classification Classification
	Status         Status
	Replies        []Reply
	Note           string
}

// Decide is called inside the intake transaction with the joined thread, or nil
// when the message opens a new ticket; it must be quick and must not do I/O.
type Decide func(joined *Thread) Decision

// Receipt tells a channel what became of a message.
type Receipt struct {
	TicketNo  string
	TicketID  int64
	MessageID int64
	Duplicate bool // seen before: nothing was written
	Joined    bool // added to an open ticket
}
