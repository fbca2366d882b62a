package report

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Links that could run, load or reach something other than the web
// lose their link and keep their text, however they are written.
func TestMarkdownLinksOnlyToTheWeb(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"[a](javascript:alert(1))", "<p>a</p>"},
		{"[a](JaVaScRiPt:alert(1))", "<p>a</p>"},
		{"[a](jav&#x61;script:alert(1))", "<p>a</p>"},
		{"[a](&#106;avascript:alert(1))", "<p>a</p>"},
		{"[a](java&Tab;script:alert(1))", "<p>a</p>"},
		{"[a]( javascript:alert(1))", "<p>a</p>"},
		{"<javascript:alert(1)>", "<p>javascript:alert(1)</p>"},
		{"![x](javascript:alert(1))", "<p>image: javascript:alert(1)</p>"},
		{"[a](vbscript:msgbox)", "<p>a</p>"},
		{"[a](data:text/html;base64,PHNjcmlwdD4=)", "<p>a</p>"},
		{"[a](data:image/png;base64,AAAA)", "<p>a</p>"},
		{"[a](file:///etc/passwd)", "<p>a</p>"},
		{"[a](//evil.example/x)", "<p>a</p>"},
		{"[a](ms-settings:display)", "<p>a</p>"},
		{"[a](https://example.com/?q=\"><script>)",
			`<p><a href="https://example.com/?q=%22%3E%3Cscript%3E" target="_blank" rel="nofollow noopener noreferrer">a</a></p>`},
		{"[a](https://example.com \"t\\\" onmouseover=\\\"x\")",
			`<p><a href="https://example.com" title="t\&quot; onmouseover=\&quot;x" target="_blank" rel="nofollow noopener noreferrer">a</a></p>`},
		{"<me@example.com>", `<p><a href="mailto:me@example.com" target="_blank" rel="nofollow noopener noreferrer">me@example.com</a></p>`},
		{"www.example.com/a?b=1&c=2",
			`<p><a href="http://www.example.com/a?b=1&amp;c=2" target="_blank" rel="nofollow noopener noreferrer">www.example.com/a?b=1&amp;c=2</a></p>`},
		{"[top](#top)", `<p><a href="#top" target="_blank" rel="nofollow noopener noreferrer">top</a></p>`},
		{"<a href=\"javascript:alert(1)\">x</a>", "<p><!-- raw HTML omitted -->x<!-- raw HTML omitted --></p>"},
		{"- [x] done\n- [ ] todo", "<ul>\n<li>☑ done</li>\n<li>☐ todo</li>\n</ul>"},
	} {
		got, err := renderMarkdown([]byte(c.in))
		if err != nil || strings.TrimSpace(string(got)) != c.want {
			t.Errorf("%q:\n got %s (%v)\nwant %s", c.in, got, err, c.want)
		}
	}
}

// Whatever the Markdown, the HTML holds only the elements and attributes
// of a document (no script, image, frame, form, style or event handler),
// and every link goes to the web. The seeds run in every `go test`;
// `go test -fuzz FuzzMarkdownIsInert ./internal/report` looks further.
func FuzzMarkdownIsInert(f *testing.F) {
	for _, seed := range []string{
		"# Scan\n\n| CVE | severity |\n|:--|--:|\n| CVE-1 | HIGH |\n",
		"<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n<iframe src=https://example.com></iframe>",
		"x <!-- --> <script>alert(1)</script> <svg onload=alert(1)> <style>*{}</style>",
		"[a](jav&#x61;script:alert(1)) ![b](javascript:x \"t\") <javascript:x> [c](//host/x)",
		"[d](https://example.com/a<b>\"c) <https://example.com/\"onmouseover=x> www.example.com/\"x",
		"- [x] done\n- [ ] todo\n\n~~del~~ **b** *i* `c<d>`\n\n```html\n<script>\n```\n",
		"[e]: javascript:alert(1)\n\n[e] [f][e]\n\n> <a href=x>quote</a>",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, md string) {
		out, err := renderMarkdown([]byte(md))
		if err != nil {
			return
		}
		if problem := notInert(string(out)); problem != "" {
			t.Fatalf("%q renders %s:\n%s", md, problem, out)
		}
	})
}

var (
	documentElements = map[string]bool{"p": true, "a": true, "h1": true, "h2": true, "h3": true, "h4": true,
		"h5": true, "h6": true, "ul": true, "ol": true, "li": true, "table": true, "thead": true, "tbody": true,
		"tr": true, "th": true, "td": true, "del": true, "strong": true, "em": true, "code": true, "pre": true,
		"blockquote": true, "hr": true, "br": true}
	documentAttributes = map[string]bool{"href": true, "title": true, "target": true, "rel": true, "align": true,
		"start": true, "class": true}
)

// notInert says what in HTML could run or load something, or "".
func notInert(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !documentElements[tok.Data] {
				return "a <" + tok.Data + "> element"
			}
			for _, a := range tok.Attr {
				if !documentAttributes[a.Key] {
					return "a " + a.Key + " attribute"
				}
				if a.Key == "href" && !toTheWeb(a.Val) {
					return "a link to " + a.Val
				}
			}
		}
	}
}

func toTheWeb(href string) bool {
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https", "mailto":
		return true
	case "":
		return u.Host == "" && u.User == nil
	}
	return false
}
