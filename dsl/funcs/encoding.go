package funcs

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Base64EncodeFunc encodes a string's UTF-8 bytes as standard base64.
var Base64EncodeFunc = function.New(&function.Spec{
	Description:  "Encodes the UTF-8 bytes of the string as standard base64.",
	Params:       []function.Parameter{{Name: "str", Type: cty.String}},
	Type:         function.StaticReturnType(cty.String),
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

// Base64DecodeFunc decodes standard base64 into a UTF-8 string. It handles
// marks itself so that its errors never quote a sensitive argument.
var Base64DecodeFunc = function.New(&function.Spec{
	Description:  "Decodes a standard base64 string whose content is UTF-8 text.",
	Params:       []function.Parameter{{Name: "str", Type: cty.String, AllowMarked: true}},
	Type:         function.StaticReturnType(cty.String),
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		str, marks := args[0].Unmark()
		shown := quoteUnlessSensitive(str.AsString(), marks)
		raw, err := base64.StdEncoding.DecodeString(str.AsString())
		if err != nil {
			return cty.NilVal, function.NewArgErrorf(0, "cannot decode base64 data %s: %s", shown, err)
		}
		if !utf8.Valid(raw) {
			return cty.NilVal, function.NewArgErrorf(0,
				"the data decoded from %s is not valid UTF-8; binary content cannot be a string", shown)
		}
		return cty.StringVal(string(raw)).WithMarks(marks), nil
	},
})

// quoteUnlessSensitive quotes s for an error message, or hides it.
func quoteUnlessSensitive(s string, marks cty.ValueMarks) string {
	if marks.Has(SensitiveMark) {
		return "(sensitive value)"
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return fmt.Sprintf("%q", s)
}

var (
	// MD5Func returns the hex MD5 digest of a string (for checksums, not security).
	MD5Func = hashFunc("MD5", md5.New)
	// SHA1Func returns the hex SHA-1 digest of a string.
	SHA1Func = hashFunc("SHA-1", sha1.New)
	// SHA256Func returns the hex SHA-256 digest of a string.
	SHA256Func = hashFunc("SHA-256", sha256.New)
	// SHA512Func returns the hex SHA-512 digest of a string.
	SHA512Func = hashFunc("SHA-512", sha512.New)
)

func hashFunc(name string, newHash func() hash.Hash) function.Function {
	return function.New(&function.Spec{
		Description:  "Returns the hexadecimal " + name + " digest of the UTF-8 bytes of the string.",
		Params:       []function.Parameter{{Name: "str", Type: cty.String}},
		Type:         function.StaticReturnType(cty.String),
		RefineResult: refineNotNull,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(hexDigest(newHash, []byte(args[0].AsString()))), nil
		},
	})
}

func hexDigest(newHash func() hash.Hash, data []byte) string {
	h := newHash()
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
