package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const secretValue = "s3cr3t-value-that-must-never-show"

func TestSecretsExist(t *testing.T) {
	env, p := sandbox(t)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"user": "app", "password": secretValue}}
	if _, err := env.Client.CoreV1().Secrets(env.Namespace).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	keys := cty.MapVal(map[string]cty.Value{"db": cty.ListVal([]cty.Value{cty.StringVal("password")})})

	t.Run("found", func(t *testing.T) {
		run := p.Apply("secrets_exist", cfg(map[string]any{"namespace": env.Namespace, "names": []string{"db"}, "keys": keys}))
		run.RequireSuccess(t)
		got := run.Output("keys").Index(cty.StringVal("db"))
		if !got.Equals(cty.ListVal([]cty.Value{cty.StringVal("password"), cty.StringVal("user")})).True() {
			t.Errorf("keys output %#v", got)
		}
		requireNoSecret(t, run.Outputs, run.Logs(""), "")
	})

	t.Run("missing", func(t *testing.T) {
		keys := cty.MapVal(map[string]cty.Value{"db": cty.ListVal([]cty.Value{cty.StringVal("password"), cty.StringVal("host")})})
		run := p.Apply("secrets_exist", cfg(map[string]any{
			"namespace": env.Namespace, "names": []string{"db", "jwt", "smtp"}, "keys": keys,
			"source": "secret/data/alpha-members/dev",
		}))
		text := requireFailure(t, run, "3 Secrets missing or incomplete", "db: lacks keys host", "jwt: not found", "smtp: not found",
			"secret/data/alpha-members/dev")
		requireNoSecret(t, run.Outputs, run.Logs(""), text)
	})
}

func TestSecretsExistRejectsKeysOfUnlistedSecrets(t *testing.T) {
	p := plugintestStart(t)
	diags := p.Validate("secrets_exist", cfg(map[string]any{
		"names": []string{"db"},
		"keys":  cty.MapVal(map[string]cty.Value{"jwt": cty.ListVal([]cty.Value{cty.StringVal("key")})}),
	}))
	if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), `"jwt" is not in names`) {
		t.Fatalf("want an error on keys[\"jwt\"], got %v", diags)
	}
}

func requireNoSecret(t *testing.T, outputs cty.Value, logs []string, errText string) {
	t.Helper()
	all := fmt.Sprintf("%#v\n%s\n%s", outputs, strings.Join(logs, "\n"), errText)
	if strings.Contains(all, secretValue) {
		t.Fatalf("a secret value leaked:\n%s", all)
	}
}
