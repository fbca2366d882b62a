package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// maxBody bounds the response body read for matching and outputs.
const maxBody = 1 << 20

type httpCheck struct{}

type httpCheckConfig struct {
	URL            string            `cty:"url"`
	Method         string            `cty:"method"`
	Headers        map[string]string `cty:"headers"`
	ExpectedStatus int               `cty:"expected_status"`
	BodyMatch      string            `cty:"body_match"`
	Retries        int               `cty:"retries"`
	Interval       string            `cty:"interval"`
	Timeout        string            `cty:"request_timeout"`
}

func (httpCheck) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Check that an HTTP endpoint answers as expected, retrying until it does.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"url":             {Type: cty.String, Required: true, Description: "The URL to request."},
			"method":          {Type: cty.String, Description: `HTTP method (default "GET").`},
			"headers":         {Type: cty.Map(cty.String), Description: "Request headers."},
			"expected_status": {Type: cty.Number, Description: "The status code that passes (default 200)."},
			"body_match":      {Type: cty.String, Description: "A regular expression the body must match."},
			"retries":         {Type: cty.Number, Description: "Attempts after the first (default 0)."},
			"interval":        {Type: cty.String, Description: `Wait between attempts (default "2s").`},
			"request_timeout": {Type: cty.String, Description: `How long one attempt's request may take (default "10s"). ` +
				`(Not timeout: that is the step's meta-argument, which bounds a whole attempt of the step, the check's own retries included.)`},
		}},
		Outputs: map[string]*sdk.Attribute{
			"status_code": {Type: cty.Number, Description: "Status of the last response."},
			"body":        {Type: cty.String, Description: "Body of the last response (first 1 MiB)."},
			"attempts":    {Type: cty.Number, Description: "Requests made."},
		},
	}
}

func (httpCheck) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	d := &resp.Diagnostics
	if u, ok := sdk.KnownString(req.Config, "url"); ok {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			d.AddAttributeError(cty.GetAttrPath("url"), "Invalid URL", `Use an absolute http:// or https:// URL.`)
		}
	}
	if m, ok := sdk.KnownString(req.Config, "method"); ok && (m == "" || strings.ContainsAny(m, " \t\r\n")) {
		d.AddAttributeError(cty.GetAttrPath("method"), fmt.Sprintf("Invalid method %q", m), `Use an HTTP method such as "GET" or "HEAD".`)
	}
	if re, ok := sdk.KnownString(req.Config, "body_match"); ok {
		if _, err := regexp.Compile(re); err != nil {
			d.AddAttributeError(cty.GetAttrPath("body_match"), "Invalid regular expression", err.Error())
		}
	}
	for _, name := range []string{"expected_status", "retries"} {
		v, _ := req.Config.GetAttr(name).Unmark()
		if v.IsKnown() && !v.IsNull() {
			if n, acc := v.AsBigFloat().Int64(); acc != 0 || n < 0 || (name == "expected_status" && (n < 100 || n > 599)) {
				d.AddAttributeError(cty.GetAttrPath(name), fmt.Sprintf("Invalid %s", name), "Use a whole number (a status between 100 and 599).")
			}
		}
	}
	sdk.ValidateDuration(d, req.Config, "interval")
	sdk.ValidateDuration(d, req.Config, "request_timeout")
}

func (httpCheck) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	method, ok := sdk.KnownString(req.Config, "method")
	if !ok {
		method = http.MethodGet
	}
	status := "200"
	if v := req.Config.GetAttr("expected_status"); !v.IsNull() {
		status = sdk.Display(v) // 201, (sensitive) or (known after apply)
	}
	resp.Kind = sdk.PlanRun
	resp.Summary = fmt.Sprintf("check %s %s answers %s", method, sdk.Display(req.Config.GetAttr("url")), status)
	if re, ok := sdk.KnownString(req.Config, "body_match"); ok {
		resp.Change = fmt.Sprintf("body must match /%s/\n", re)
	}
}

func (httpCheck) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg httpCheckConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	if cfg.ExpectedStatus == 0 {
		cfg.ExpectedStatus = http.StatusOK
	}
	var bodyRE *regexp.Regexp
	if cfg.BodyMatch != "" {
		bodyRE = regexp.MustCompile(cfg.BodyMatch) // ValidateConfig compiled it
	}
	shown := cfg.URL
	if req.Config.GetAttr("url").HasMark(sdk.Sensitive) {
		shown = redactURL(cfg.URL)
	}
	interval, timeout := sdk.DurationOr(cfg.Interval, 2*time.Second), sdk.DurationOr(cfg.Timeout, 10*time.Second)
	attempts := cfg.Retries + 1
	var status int
	var body, problem string
	for i := 1; i <= attempts; i++ {
		status, body, problem = checkOnce(ctx, &cfg, bodyRE, timeout, shown)
		if problem == "" {
			req.Events.Log(sdk.Stdout, fmt.Sprintf("attempt %d/%d: %d, as expected", i, attempts, status))
			req.Events.Progress(1, "passed")
			resp.SetOutputs(httpCheckOutputs{status, body, i})
			resp.Summary = fmt.Sprintf("%s %s answered %d (attempt %d of %d)", cfg.Method, shown, status, i, attempts)
			return
		}
		req.Events.Log(sdk.Stderr, fmt.Sprintf("attempt %d/%d: %s", i, attempts, problem))
		req.Events.Progress(float64(i)/float64(attempts), problem)
		if i < attempts && sdk.Sleep(ctx, interval) != nil {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	resp.SetOutputs(httpCheckOutputs{status, body, attempts})
	if ctx.Err() != nil {
		resp.Diagnostics.AddError("HTTP check cancelled", problem)
		return
	}
	resp.Diagnostics.AddError(fmt.Sprintf("HTTP check of %s failed", shown),
		fmt.Sprintf("After %d attempt(s): %s.", attempts, problem))
}

// checkOnce makes one request; problem is "" when the response passes.
// shown is the URL as messages may show it.
func checkOnce(ctx context.Context, cfg *httpCheckConfig, bodyRE *regexp.Regexp, timeout time.Duration, shown string) (status int, body, problem string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, nil)
	if err != nil {
		return 0, "", strings.ReplaceAll(err.Error(), cfg.URL, shown)
	}
	for k, v := range cfg.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", strings.ReplaceAll(err.Error(), cfg.URL, shown)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return res.StatusCode, "", "reading the body: " + err.Error()
	}
	body = string(data)
	switch {
	case res.StatusCode != cfg.ExpectedStatus:
		return res.StatusCode, body, fmt.Sprintf("status %d, want %d", res.StatusCode, cfg.ExpectedStatus)
	case bodyRE != nil && !bodyRE.MatchString(body):
		return res.StatusCode, body, fmt.Sprintf("body does not match /%s/", bodyRE)
	}
	return res.StatusCode, body, ""
}

type httpCheckOutputs struct {
	StatusCode int    `cty:"status_code"`
	Body       string `cty:"body"`
	Attempts   int    `cty:"attempts"`
}

// redactURL is what messages say of a sensitive URL: nothing of it, not
// even its host and port (a sensitive value is never shown in part).
func redactURL(string) string { return "(sensitive URL)" }
