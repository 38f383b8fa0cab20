package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	grafana "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"go.yaml.in/yaml/v3"

	"github.com/sentio-health/sentio/internal/testenv"
)

// dashboard is the part of a Grafana dashboard the tests look at.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("grafana/sentio.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana/sentio.json is not valid JSON: %v", err)
	}
	return d
}

// rules is the part of a Prometheus rule file the tests look at.
type rules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) rules {
	t.Helper()
	data, err := os.ReadFile("prometheus/sentio-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var r rules
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatalf("prometheus/sentio-rules.yml: %v", err)
	}
	return r
}

// The dashboard is an importable Grafana dashboard: a stable uid, a Prometheus datasource
// variable that every panel and query uses, unique panel ids, a place on the grid and a query
// for every panel.
func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "sentio-daemon" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d; want uid sentio-daemon, a title, schemaVersion >= 36", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Name == "datasource" && v.Query != "prometheus" {
			t.Errorf("the datasource variable selects %v; want prometheus", v.Query)
		}
	}
	for _, name := range []string{"datasource", "job", "instance"} {
		if vars[name] == "" {
			t.Errorf("no $%s variable", name)
		}
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("$datasource is of type %q; want datasource", vars["datasource"])
	}
	ids := map[int]string{}
	n := 0
	var check func(ps []panel)
	check = func(ps []panel) {
		for _, p := range ps {
			if p.ID <= 0 {
				t.Errorf("panel %q has no id", p.Title)
			} else if other, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q has no valid gridPos: %+v", p.Title, p.GridPos)
			}
			if p.Type == "row" {
				check(p.Panels)
				continue
			}
			n++
			if p.Title == "" {
				t.Errorf("panel %d has no title", p.ID)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q does not use the $datasource variable", p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				if strings.TrimSpace(q.Expr) == "" || q.RefID == "" {
					t.Errorf("panel %q has a query without expr or refId", p.Title)
				}
				if strings.Contains(q.Expr, "sentio_") && !strings.Contains(q.Expr, `instance=~"$instance"`) {
					t.Errorf("panel %q query %q ignores the $instance variable", p.Title, q.Expr)
				}
			}
		}
	}
	check(d.Panels)
	if n < 10 {
		t.Errorf("%d panels; want the issue's figures (throughput, latency per stage, in flight, DLQ by reason, partitions, model errors, readiness)", n)
	}
}

// The dashboard matches Grafana's dashboard schema, as generated into the Grafana Foundation SDK's
// types (the dashboard and the panel plugins' options and queries): a misspelled or misplaced
// key, a value of the wrong type or a required field left out fails here.
func TestDashboardMatchesGrafanaSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw, err := os.ReadFile("grafana/sentio.json")
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the file is the classic JSON model (schemaVersion 39) that every Grafana from 10 on imports; dashboardv2 is Grafana 12's new, opt-in format
	var d grafana.Dashboard
	if err := d.UnmarshalJSONStrict(raw); failed(err) {
		t.Fatalf("grafana/sentio.json does not match Grafana's dashboard schema:\n%v", err)
	}
	if err := d.Validate(); failed(err) {
		t.Fatalf("grafana/sentio.json breaks a constraint of Grafana's dashboard schema:\n%v", err)
	}
	// The check can fail: a misspelled panel key is refused.
	//lint:ignore SA1019 as above
	var bad grafana.Dashboard
	if err := bad.UnmarshalJSONStrict([]byte(`{"schemaVersion": 39, "templating": {"list": []}, "annotations": {"list": []},
		"panels": [{"type": "timeseries", "id": 1, "titel": "x"}]}`)); !failed(err) {
		t.Error("a panel with a misspelled key passed the strict schema check")
	}
}

// failed reports whether err, from the SDK's strict decoding or validation, holds an error: the
// SDK returns an empty cog.BuildErrors, not nil, when there is none.
func failed(err error) bool {
	var be cog.BuildErrors
	if errors.As(err, &be) {
		return len(be) > 0
	}
	return err != nil
}

// Every alert has a severity, a summary and a description.
func TestRulesStructure(t *testing.T) {
	r := loadRules(t)
	n := 0
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Alert == "" || rule.Expr == "" {
				t.Errorf("a rule of group %s has no alert name or expr", g.Name)
			}
			if s := rule.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("alert %s has severity %q; want critical or warning", rule.Alert, s)
			}
			if rule.Annotations["summary"] == "" || rule.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a summary or description", rule.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules")
	}
}

// metricName finds the metric names in a PromQL expression: the daemon's (sentio_*) and its Go
// and process collectors'.
var metricName = regexp.MustCompile(`\b(?:sentio|process|go)_[a-zA-Z0-9_]+\b`)

// selector finds `name{...}` selectors, and matcher the `label="value"` or `label=~"a|b"`
// matchers inside them.
var (
	selector = regexp.MustCompile(`\b((?:sentio|process|go)_[a-zA-Z0-9_]+)\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`(\w+)\s*(=~|=)\s*"([^"]*)"`)
)

// series maps each metric name exposed on /metrics to its label values: label -> value -> true.
type series map[string]map[string]map[string]bool

// scrape reads /metrics of a running daemon (text exposition format).
func scrape(t *testing.T, url string) series {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	out := series{}
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
	label := regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
	for _, line := range strings.Split(string(body), "\n") {
		m := sample.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if out[m[1]] == nil {
			out[m[1]] = map[string]map[string]bool{}
		}
		for _, l := range label.FindAllStringSubmatch(m[2], -1) {
			if out[m[1]][l[1]] == nil {
				out[m[1]][l[1]] = map[string]bool{}
			}
			out[m[1]][l[1]][l[2]] = true
		}
	}
	return out
}

// checkExpr returns the metrics of expr that the daemon does not expose, and the label values in
// its matchers (other than job and instance, which Prometheus adds) that no series has.
func checkExpr(expr string, have series) []string {
	var problems []string
	for _, name := range metricName.FindAllString(expr, -1) {
		if have[name] == nil {
			problems = append(problems, "metric "+name+" is not exposed by the daemon (renamed or removed?)")
		}
	}
	for _, sel := range selector.FindAllStringSubmatch(expr, -1) {
		for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
			lbl, op, val := m[1], m[2], m[3]
			if lbl == "job" || lbl == "instance" || have[sel[1]] == nil {
				continue
			}
			values := have[sel[1]][lbl]
			if values == nil {
				problems = append(problems, fmt.Sprintf("metric %s has no label %s", sel[1], lbl))
				continue
			}
			wanted := []string{val}
			if op == "=~" {
				wanted = strings.Split(val, "|")
			}
			for _, v := range wanted {
				if !values[v] {
					problems = append(problems, fmt.Sprintf("no series %s{%s=%q}; the daemon has %s", sel[1], lbl, v, keys(values)))
				}
			}
		}
	}
	return problems
}

// checkExpr catches a metric or a label value the daemon does not have.
func TestCheckExprCatchesRenames(t *testing.T) {
	have := series{"sentio_pipeline_stage_failed_total": {"stage": {"asr": true, "reason": true}}}
	if p := checkExpr(`rate(sentio_pipeline_stage_failed_total{stage=~"asr|reason", instance=~"$instance"}[5m])`, have); len(p) != 0 {
		t.Errorf("problems in a valid expression: %q", p)
	}
	for expr, want := range map[string]string{
		`rate(sentio_pipeline_stage_failures_total[5m])`:                     "metric sentio_pipeline_stage_failures_total is not exposed",
		`rate(sentio_pipeline_stage_failed_total{stage=~"asr|whisper"}[5m])`: `no series sentio_pipeline_stage_failed_total{stage="whisper"}`,
		`sentio_pipeline_stage_failed_total{step="asr"}`:                     "has no label step",
	} {
		if p := checkExpr(expr, have); len(p) != 1 || !strings.Contains(p[0], want) {
			t.Errorf("checkExpr(%s) = %q; want one problem containing %q", expr, p, want)
		}
	}
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Every metric, and every label value matched, in the dashboard's queries and the alert rules
// is exposed on /metrics by the real daemon (`sentio run`, models loaded, embedded NATS) right
// after it starts, before it has seen any audio: a renamed metric or stage fails here.
func TestDashboardAndRulesUseTheDaemonsMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	// With an alert rule, as sentio_alert_events_total has a series per configured rule only.
	d := testenv.StartDaemon(t, "--set", "alerts.rules=[{name: switch, kind: language_switch}]")
	have := scrape(t, d.HTTP)
	exprs := 0
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, q := range p.Targets {
				exprs++
				for _, problem := range checkExpr(q.Expr, have) {
					t.Errorf("dashboard panel %q: %s", p.Title, problem)
				}
			}
		}
	}
	walk(loadDashboard(t).Panels)
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			exprs++
			for _, problem := range checkExpr(r.Expr, have) {
				t.Errorf("alert %s: %s", r.Alert, problem)
			}
		}
	}
	if len(have) < 40 || have["sentio_ready"] == nil {
		t.Fatalf("the scrape has %d metric names and no sentio_ready: not sentio's /metrics", len(have))
	}
	t.Logf("%d queries checked against %d metric names", exprs, len(have))
}
