package redact_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/sdk/redact"
)

func mask(string) string { return redact.Mask }

func replace(s *redact.Set, text string) string { return s.Replacer(mask).Replace(text) }

// A secret inside a larger base64 value is found whatever its offset: the
// encoding of its bytes depends on where it starts modulo 3.
func TestBase64AtEveryAlignment(t *testing.T) {
	const secret = "S3cr3t-Tok'en"
	set := redact.New(secret)
	for offset := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			value := strings.Repeat("x", offset) + "user=admin;password=" + secret + ";more"
			encoded := enc.EncodeToString([]byte(value))
			out := replace(set, "data: "+encoded)
			if out == "data: "+encoded || !strings.Contains(out, redact.Mask) {
				t.Errorf("offset %d: not found in %s", offset, encoded)
			}
		}
	}
}

func TestEscapedForms(t *testing.T) {
	const secret = `O'Brien&"Co"<x>`
	set := redact.New(secret)
	for _, text := range []string{
		`'O''Brien&"Co"<x>'`,                 // YAML single-quoted
		`"O'Brien\u0026\"Co\"\u003cx\u003e"`, // JSON with HTML escapes
		`"O'Brien&\"Co\"<x>"`,                // JSON, YAML double-quoted
		`'"O''Brien&\"Co\"<x>"'`,             // toJson | squote
		"O%27Brien%26%22Co%22%3Cx%3E",        // URL query
	} {
		if out := replace(set, text); strings.Contains(out, "Brien") {
			t.Errorf("%s: not redacted: %s", text, out)
		}
	}
}

func TestLinesOfAMultiLineSecret(t *testing.T) {
	set := redact.New("-----BEGIN KEY-----\nLINE1SECRET\n  LINE2SECRET\r\nab\n-----END KEY-----")
	out := replace(set, "-    LINE1SECRET\n+    LINE2SECRET\nab stays")
	if strings.Contains(out, "SECRET") || !strings.Contains(out, "ab stays") {
		t.Errorf("got %q", out)
	}
}

func TestURLPartsAreSecret(t *testing.T) {
	set := redact.New("https://bot:pa55word@hooks.example.com/services/T0/B0/S3cretPath?token=qu3ryTok")
	for _, text := range []string{"no such hook: /services/T0/B0/S3cretPath", "hook S3cretPath", "pa55word", "token=qu3ryTok"} {
		if out := replace(set, text); strings.Contains(out, "S3cret") || strings.Contains(out, "pa55") || strings.Contains(out, "qu3ry") {
			t.Errorf("%q: got %q", text, out)
		}
	}
	short := redact.New("https://example.com/hook?k=v1")
	if out := replace(short, "webhook: no such hook /hook k=v1"); out != "webhook: no such (sensitive value) (sensitive value) (sensitive value)" {
		t.Errorf("short URL parts: got %q", out)
	}
}

// A secret under MinLen bytes is masked only where it stands alone.
func TestShortSecretsOnlyAsWholeTokens(t *testing.T) {
	set := redact.New("42", "a")
	got := replace(set, "pin=42 port 4242 a cat 42")
	want := "pin=(sensitive value) port 4242 (sensitive value) cat (sensitive value)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestSafeCutNeverSplitsASecret(t *testing.T) {
	set := redact.New("S3cretValue")
	text := "xxxxS3cretValueyyyy"
	for at := range len(text) + 1 {
		q := set.SafeCut(text, at)
		if q > at || q > 4 && q < 15 {
			t.Errorf("cut at %d: %d splits the secret", at, q)
		}
	}
}

// A 64 KiB log line (the longest one event carries) against ten secrets,
// one a multi-line key, in every form.
func BenchmarkReplace64KiBLine(b *testing.B) {
	secrets := []string{"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END KEY-----"}
	for i := range 9 {
		secrets = append(secrets, strings.Repeat("s3cr3t", i+1))
	}
	r := redact.New(secrets...).Replacer(mask)
	line := strings.Repeat("the quick brown fox jumps over the lazy dog 0123456789 ", 64<<10/55)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		r.Replace(line)
	}
}
