// Package configs holds the documented sample configuration, which doubles as the
// built-in defaults, the data files the classifier needs, and the typed Config.
package configs

import (
	_ "embed"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

//go:embed hotline.yaml
var sample []byte

// Sample returns the documented sample configuration.
func Sample() []byte { return sample }

// Config is the whole configuration of one hotline process.
type Config struct {
	City     City     `koanf:"city"`
	HTTP     HTTP     `koanf:"http"`
	Store    Store    `koanf:"store"`
	Redis    Redis    `koanf:"redis"`
	Admin    Admin    `koanf:"admin"`
	Auth     Auth     `koanf:"auth"`
	Log      Log      `koanf:"log"`
	Intake   Intake   `koanf:"intake"`
	Classify Classify `koanf:"classify"`
	KB       KB       `koanf:"kb"`
	SMS      SMS      `koanf:"sms"`
	Voice    Voice    `koanf:"voice"`
	Outbox   Outbox   `koanf:"outbox"`
	Replies  Replies  `koanf:"replies"`
	WeChat   WeChat   `koanf:"wechat"`
	Website  Website  `koanf:"website"`
	Mailbox  Mailbox  `koanf:"mailbox"`
	Inbox    Inbox    `koanf:"inbox"`
	Province Province `koanf:"province"`

	Calendar  Calendar  `koanf:"calendar"`
	Deadlines Deadlines `koanf:"deadlines"`
	Pipeline  Pipeline  `koanf:"pipeline"`
}

type City struct {
	Name     string `koanf:"name"`
	Province string `koanf:"province"`
	Timezone string `koanf:"timezone"`
}

// Location is the city's time zone; Load has already checked it exists.
func (c City) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

type HTTP struct {
	Addr            string        `koanf:"addr"`
	PublicURL       string        `koanf:"public_url"`
	MaxBodyBytes    int64         `koanf:"max_body_bytes"`
	ReadTimeout     time.Duration `koanf:"read_timeout"`
	WriteTimeout    time.Duration `koanf:"write_timeout"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	TrustedProxies  []string      `koanf:"trusted_proxies"`
}

type Store struct {
	Driver            string `koanf:"driver"`
	DSN               string `koanf:"dsn"`
	MaxOpenConns      int    `koanf:"max_open_conns"`
	TicketNumberBlock int    `koanf:"ticket_number_block"`
}

type Redis struct {
	URL string `koanf:"url"`
}

type Admin struct {
	Password string `koanf:"password"`
}

type Auth struct {
	TokenTTL   time.Duration `koanf:"token_ttl"`
	BcryptCost int           `koanf:"bcrypt_cost"`
}

type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

type Intake struct {
	ThreadWindow time.Duration `koanf:"thread_window"`
	RawMaxBytes  int           `koanf:"raw_max_bytes"`
	MaxTextChars int           `koanf:"max_text_chars"`
}

type Classify struct {
	DataFile string `koanf:"data_file"`
	MinChars int    `koanf:"min_chars"`
}

type KB struct {
	ConfidentScore float64       `koanf:"confident_score"`
	ReloadInterval time.Duration `koanf:"reload_interval"`
}

type SMS struct {
	WebhookToken string      `koanf:"webhook_token"`
	Outbound     SMSOutbound `koanf:"outbound"`
	CMPP         CMPP        `koanf:"cmpp"`
}

type SMSOutbound struct {
	Provider string        `koanf:"provider"`
	HTTPURL  string        `koanf:"http_url"`
	Timeout  time.Duration `koanf:"timeout"`
}

type CMPP struct {
	Addr     string `koanf:"addr"`
	Account  string `koanf:"account"`
	Password string `koanf:"password"`
	SrcID    string `koanf:"src_id"`
}

type Voice struct {
	WebhookToken string `koanf:"webhook_token"`
}

type Outbox struct {
	Workers      int           `koanf:"workers"`
	PollInterval time.Duration `koanf:"poll_interval"`
	Batch        int           `koanf:"batch"`
	Lease        time.Duration `koanf:"lease"`
	BackoffBase  time.Duration `koanf:"backoff_base"`
	BackoffMax   time.Duration `koanf:"backoff_max"`
	MaxAttempts  int           `koanf:"max_attempts"`
}

type Replies struct {
	SMS ReplyTexts `koanf:"sms"`
}

// ReplyTexts are the six standard replies of the work standard for one channel.
type ReplyTexts struct {
	Answered    string `koanf:"answered"`
	Transferred string `koanf:"transferred"`
	Suggestion  string `koanf:"suggestion"`
	Thanks      string `koanf:"thanks"`
	OutOfRemit  string `koanf:"out_of_remit"`
	Incomplete  string `koanf:"incomplete"`
}

type WeChat struct {
	AppID          string     `koanf:"app_id"`
	AppSecret      string     `koanf:"app_secret"`
	Token          string     `koanf:"token"`
	EncodingAESKey string     `koanf:"encoding_aes_key"`
	APIBase        string     `koanf:"api_base"`
	WelcomeText    string     `koanf:"welcome_text"`
	StatusMenuKey  string     `koanf:"status_menu_key"`
	Replies        ReplyTexts `koanf:"replies"`
}

type Website struct {
	AttachmentsDir     string        `koanf:"attachments_dir"`
	MaxAttachments     int           `koanf:"max_attachments"`
	MaxAttachmentBytes int64         `koanf:"max_attachment_bytes"`
	RatePerIP          int           `koanf:"rate_per_ip"`
	RatePerPhone       int           `koanf:"rate_per_phone"`
	RateWindow         time.Duration `koanf:"rate_window"`
	QueryAttemptsPerIP int           `koanf:"query_attempts_per_ip"`
}

type Mailbox struct {
	IMAP        IMAP `koanf:"imap"`
	SMTP        SMTP `koanf:"smtp"`
	Acknowledge bool `koanf:"acknowledge"`
}

type IMAP struct {
	Addr         string        `koanf:"addr"`
	Username     string        `koanf:"username"`
	Password     string        `koanf:"password"`
	Folder       string        `koanf:"folder"`
	TLS          string        `koanf:"tls"`
	PollInterval time.Duration `koanf:"poll_interval"`
	After        string        `koanf:"after"`
	MoveTo       string        `koanf:"move_to"`
}

type SMTP struct {
	Addr     string `koanf:"addr"`
	Username string `koanf:"username"`
	Password string `koanf:"password"`
	From     string `koanf:"from"`
	TLS      string `koanf:"tls"`
}

// Calendar is the working calendar (package hotline/calendar checks it).
type Calendar struct {
	WorkStart  string   `koanf:"work_start"`
	WorkEnd    string   `koanf:"work_end"`
	LunchStart string   `koanf:"lunch_start"`
	LunchEnd   string   `koanf:"lunch_end"`
	Weekend    []string `koanf:"weekend"`
	Holidays   []string `koanf:"holidays"`
	Workdays   []string `koanf:"workdays"`
}

// Deadlines are the pipeline's time limits (package hotline/pipeline).
type Deadlines struct {
	TransferCutoff         string         `koanf:"transfer_cutoff"`
	OvernightDue           string         `koanf:"overnight_due"`
	UrgentTransferWithin   time.Duration  `koanf:"urgent_transfer_within"`
	ReplyWorkingDays       int            `koanf:"reply_working_days"`
	UrgentReplyWorkingDays int            `koanf:"urgent_reply_working_days"`
	ReplyDaysByNature      map[string]int `koanf:"reply_working_days_by_nature"`
	ReplyDaysByCategory    map[string]int `koanf:"reply_working_days_by_category"`
	ExtensionMaxDays       int            `koanf:"extension_max_days"`
	FollowupWithin         time.Duration  `koanf:"followup_within"`
}

// Pipeline tunes the handling pipeline's background work and data.
type Pipeline struct {
	SchedulerInterval time.Duration `koanf:"scheduler_interval"`
	ArchiveAfter      time.Duration `koanf:"archive_after"`
	UnitsFile         string        `koanf:"units_file"`
	AnswerAlertWithin time.Duration `koanf:"answer_alert_within"`
	Hot               Hot           `koanf:"hot"`
}

// Hot is the spike detector of hot issues (热点).
type Hot struct {
	Window          time.Duration `koanf:"window"`
	BaselineWindows int           `koanf:"baseline_windows"`
	MinCount        int           `koanf:"min_count"`
	Factor          float64       `koanf:"factor"`
}

//go:embed units.csv
var builtinUnits []byte

// BuiltinUnits returns the embedded configs/units.csv, imported on the first
// start when pipeline.units_file is empty. Callers must not modify it.
func (Pipeline) BuiltinUnits() []byte { return builtinUnits }

// Province is the provincial exchange (省长信箱 cases; see docs/province.md).
type Province struct {
	BaseURL            string        `koanf:"base_url"`
	Secret             string        `koanf:"secret"`
	PreviousSecret     string        `koanf:"previous_secret"`
	AttachmentsDir     string        `koanf:"attachments_dir"`
	AttachmentMaxBytes int64         `koanf:"attachment_max_bytes"`
	AttachmentTimeout  time.Duration `koanf:"attachment_timeout"`
}

// Load reads the defaults, then path (if not empty), then HOTLINE_* environment
// variables, and validates the result.
func Load(path string) (*Config, error) {
	return load(path, os.Environ())
}

func load(path string, environ []string) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(sample), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("built-in defaults: %w", err)
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(k, environ); err != nil {
		return nil, err
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// applyEnv maps HOTLINE_A_B_C onto the known key whose path upper-cased with "_"
// is A_B_C. Matching against known keys (instead of splitting on "_") keeps keys
// that contain underscores, such as sms.webhook_token, reachable.
func applyEnv(k *koanf.Koanf, environ []string) error {
	known := map[string]string{}
	for _, key := range k.Keys() {
		known["HOTLINE_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))] = key
	}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "HOTLINE_") {
			continue
		}
		if key, ok := known[name]; ok {
			if err := k.Set(key, val); err != nil {
				return fmt.Errorf("env %s: %w", name, err)
			}
		}
	}
	return nil
}

func (c *Config) validate() error {
	switch c.Store.Driver {
	case "sqlite", "postgres":
	default:
		return fmt.Errorf("store.driver must be sqlite or postgres, not %q", c.Store.Driver)
	}
	if _, err := time.LoadLocation(c.City.Timezone); err != nil {
		return fmt.Errorf("city.timezone: %w", err)
	}
	switch c.SMS.Outbound.Provider {
	case "log", "http", "cmpp":
	default:
		return fmt.Errorf("sms.outbound.provider must be log, http or cmpp, not %q", c.SMS.Outbound.Provider)
	}
	if c.SMS.Outbound.Provider == "http" && c.SMS.Outbound.HTTPURL == "" {
		return fmt.Errorf("sms.outbound.http_url is required for the http provider")
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("http.trusted_proxies: %q is neither an IP nor a CIDR", p)
		}
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		return fmt.Errorf("http.max_body_bytes must be positive")
	}
	if c.Outbox.Workers < 1 || c.Outbox.Batch < 1 || c.Outbox.MaxAttempts < 1 {
		return fmt.Errorf("outbox.workers, outbox.batch and outbox.max_attempts must be at least 1")
	}
	if c.Store.TicketNumberBlock < 1 {
		c.Store.TicketNumberBlock = 1
	}
	return nil
}

// Inbox tunes the agents' unified inbox (package hotline/inbox).
type Inbox struct {
	SLA      time.Duration `koanf:"sla"`
	LivePoll time.Duration `koanf:"live_poll"`
	PageSize int           `koanf:"page_size"`
	Canned   []string      `koanf:"canned"`
}
