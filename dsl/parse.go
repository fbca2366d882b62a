package dsl

import (
	"bytes"
	"fmt"
	"maps"
	"runtime"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// chunkSize is the size above which a file is parsed in chunks of
// top-level blocks. HCL's lexer keeps every token of a file in memory at once
// (about 100 bytes a token), so a 10,000-step file would need hundreds of
// megabytes; chunks bound that, and parse in parallel. Small chunks also
// grow their token slices less (128 KB to 16 KB: a 10,000-step load
// allocated 174 MB, not 207, in 220 ms, not 275).
const chunkSize = 16 << 10

// parseFile parses a pipeline file in HCL native syntax, whole: load
// parses a large file in chunks (parseEach) and comes here when they fail.
// The nesting check goes first (the lexer's tokens of a file nested too
// deeply are what it spares).
func parseFile(src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	if diags := CheckNesting(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	return file, pointAtOpenHeredoc(src, filename, diags)
}

// parseEach parses a large file in chunks and gives use each chunk, as a
// file of its own, in order. A file is split where a top-level block ends
// ("}" alone at the start of a line) and the next begins (a name at the
// start of the next line). Chunks parse in parallel, a few ahead of use,
// and each chunk's syntax can go once use is done with it: merged (as
// parseChunks does), the whole file's was the peak of a 100,000-step load.
// A split at the wrong place (inside a heredoc or a comment, say) makes a
// chunk fail to parse, and two chunks may set one top-level attribute;
// then parseEach returns false, what use was given must be thrown away,
// and the file parsed whole (parseFile), so the result and its
// diagnostics are always those of a plain parse. Otherwise it returns the
// file as diagnostics need it (outline).
func parseEach(src []byte, filename string, chunks []chunk, use func(*hcl.File)) (*hcl.File, bool) {
	type parsed struct {
		body *hclsyntax.Body
		done chan struct{}
	}
	results := make([]parsed, len(chunks))
	for i := range results {
		results[i].done = make(chan struct{})
	}
	ahead := make(chan struct{}, runtime.GOMAXPROCS(0)+1) // parsed or parsing, not yet used
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i, c := range chunks {
			select {
			case ahead <- struct{}{}:
			case <-stop:
				return
			}
			go func() {
				results[i].body = parseChunk(src, filename, c)
				close(results[i].done)
			}()
		}
	}()
	var nav navigation
	attrs := map[string]bool{}
	for i := range results {
		<-results[i].done
		body := results[i].body
		if body == nil || redefines(attrs, body) {
			return nil, false
		}
		nav = append(nav, headers(body)...)
		use(&hcl.File{Body: body, Bytes: src})
		results[i].body = nil
		<-ahead
	}
	return &hcl.File{Bytes: src, Body: hcl.EmptyBody(), Nav: nav}, true
}

// parseChunk parses one chunk of a file; nil when it does not parse (the
// whole file's parse reports why).
func parseChunk(src []byte, filename string, c chunk) *hclsyntax.Body {
	part := src[c.start.Byte:c.end]
	if CheckNesting(part, filename, c.start).HasErrors() {
		return nil
	}
	f, diags := hclsyntax.ParseConfig(part, filename, c.start)
	if diags.HasErrors() {
		return nil
	}
	return f.Body.(*hclsyntax.Body)
}

// redefines records body's attributes in seen and says whether one was
// set by an earlier chunk: a plain parse reports that, the chunks cannot.
func redefines(seen map[string]bool, body *hclsyntax.Body) bool {
	for name := range body.Attributes {
		if seen[name] {
			return true
		}
		seen[name] = true
	}
	return false
}

// parseFileFor parses what of a pipeline file may hold a top-level block
// of one of types (LoadBackend's few): a large file's chunks that start no
// such block are not parsed, which at 10,000 steps is nearly all of the
// file (runs show, runs report: 0.5 s of CPU).
func parseFileFor(src []byte, filename string, types []string) (*hcl.File, hcl.Diagnostics) {
	if named := chunksFor(src, types); named != nil {
		if file, ok := parseChunks(src, filename, named); ok {
			return file, nil
		}
	}
	if chunks := splitTopLevel(src, chunkSize); len(chunks) > 1 {
		if file, ok := parseChunks(src, filename, chunks); ok {
			return file, nil
		}
	}
	return parseFile(src, filename)
}

// chunksFor is the chunks of a large file that parseFileFor parses (nil:
// the file is parsed whole). A chunk is skipped when no line of it starts
// one of types' blocks (a reference such as pipeline.name does not) and no
// multi-line construct starts in it and runs on past its end (no heredoc,
// no block comment, its brackets balanced). A wrong split (a "}" at the
// start of a line inside a block) then shows where a parsed chunk begins or
// ends: cut inside a block, it does not parse, and the file is parsed whole
// as parseFile does. Between skipped chunks brackets in strings or comments
// ("# }") can balance a wrong split, which goes unnoticed; it matters only
// if a parsed chunk lies inside the cut block, so that a block nested there
// reads as a top-level one.
func chunksFor(src []byte, types []string) []chunk {
	if len(src) <= chunkSize {
		return nil // as parseFile: a small file is parsed whole
	}
	chunks := splitTopLevel(src, chunkSize/8) // smaller: the few parsed are all the work
	if len(chunks) <= 1 {
		return nil
	}
	var named []chunk
	for _, c := range chunks {
		if !skippable(src[c.start.Byte:c.end], types) {
			named = append(named, c)
		}
	}
	return named
}

// skippable is whether part starts no block of types and closes every
// construct it opens, by a count of its bytes (a bracket in a string or
// comment makes it unbalanced: then it is parsed, which is always right).
func skippable(part []byte, types []string) bool {
	for _, t := range types {
		if startsBlock(part, t) {
			return false
		}
	}
	if bytes.Contains(part, []byte("<<")) || bytes.Contains(part, []byte("/*")) {
		return false
	}
	for _, pair := range []string{"{}", "[]", "()"} {
		if bytes.Count(part, []byte{pair[0]}) != bytes.Count(part, []byte{pair[1]}) {
			return false
		}
	}
	return true
}

// startsBlock is whether a line of part may start a block of type typ:
// typ as the line's first word, then a label or the body's "{". (A
// regular expression to that effect reads 30 MB/s, this over 500 MB/s.)
func startsBlock(part []byte, typ string) bool {
	for off := 0; ; {
		i := bytes.Index(part[off:], []byte(typ))
		if i < 0 {
			return false
		}
		i += off
		off = i + len(typ)
		j := i
		for j > 0 && (part[j-1] == ' ' || part[j-1] == '\t') {
			j--
		}
		if j > 0 && part[j-1] != '\n' {
			continue // not the line's first word
		}
		rest := part[off:]
		after := bytes.TrimLeft(rest, " \t\r\n")
		if len(after) == 0 {
			continue
		}
		if c := after[0]; c == '"' || c == '{' || (len(after) < len(rest) && isNameStart(c)) {
			return true
		}
	}
}

// pointAtOpenHeredoc moves HCL's "Unterminated template string", which
// points at the end of the file, to the line where the heredoc without its
// closing marker was opened: that is where the mistake is.
func pointAtOpenHeredoc(src []byte, filename string, diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Summary != "Unterminated template string" {
			continue
		}
		open, ok := unclosedHeredoc(src, filename)
		if !ok {
			return diags
		}
		marker := strings.TrimSpace(string(open.Bytes))
		name := strings.TrimLeft(marker, "<-")
		rng := open.Range
		rng.End = hcl.Pos{Line: rng.Start.Line, Column: rng.Start.Column + len(marker), Byte: rng.Start.Byte + len(marker)}
		d.Summary = "Unterminated heredoc"
		d.Detail = fmt.Sprintf("The heredoc opened here with %s has no closing %s: end it with a line that holds only %s"+
			" (with %s, spaces may come before it).", marker, name, name, "<<-"+name)
		d.Subject, d.Context = &rng, nil
	}
	return diags
}

// unclosedHeredoc finds the last heredoc opened and never closed.
func unclosedHeredoc(src []byte, filename string) (hclsyntax.Token, bool) {
	tokens, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	var open []hclsyntax.Token
	for _, t := range tokens {
		switch t.Type {
		case hclsyntax.TokenOHeredoc:
			open = append(open, t)
		case hclsyntax.TokenCHeredoc:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 {
		return hclsyntax.Token{}, false
	}
	return open[len(open)-1], true
}

// chunk is a part of a file, starting at the beginning of a line.
type chunk struct {
	start hcl.Pos
	end   int // byte offset
}

func splitTopLevel(src []byte, size int) []chunk {
	if len(src) <= size {
		return nil
	}
	chunks := []chunk{{start: hcl.InitialPos}}
	line, afterClose := 1, false
	for off := 0; off < len(src); {
		lineEnd := off + lineLength(src[off:])
		text := bytes.TrimRight(src[off:lineEnd], " \t\r\n")
		cur := &chunks[len(chunks)-1]
		if afterClose && len(text) > 0 && isNameStart(text[0]) && off-cur.start.Byte >= size {
			cur.end = off
			chunks = append(chunks, chunk{start: hcl.Pos{Line: line, Column: 1, Byte: off}})
		}
		if len(text) > 0 && text[0] != '#' {
			afterClose = string(text) == "}"
		}
		off, line = lineEnd, line+1
	}
	chunks[len(chunks)-1].end = len(src)
	return chunks
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// parseChunks parses chunks of a file (parseEach) and merges their bodies
// into one, for parseFileFor; false as parseEach.
func parseChunks(src []byte, filename string, chunks []chunk) (*hcl.File, bool) {
	end := endPos(src)
	root := &hclsyntax.Body{
		Attributes: hclsyntax.Attributes{},
		SrcRange:   hcl.Range{Filename: filename, Start: hcl.InitialPos, End: end},
		EndRange:   hcl.Range{Filename: filename, Start: end, End: end},
	}
	_, ok := parseEach(src, filename, chunks, func(f *hcl.File) {
		b := f.Body.(*hclsyntax.Body)
		maps.Copy(root.Attributes, b.Attributes)
		root.Blocks = append(root.Blocks, b.Blocks...)
	})
	if !ok {
		return nil, false
	}
	return &hcl.File{Body: root, Bytes: src}, true
}

func endPos(src []byte) hcl.Pos {
	lastLine := src[bytes.LastIndexByte(src, '\n')+1:]
	return hcl.Pos{Line: bytes.Count(src, []byte{'\n'}) + 1, Column: utf8.RuneCount(lastLine) + 1, Byte: len(src)}
}

// outline is the file as diagnostics need it once it is loaded: its bytes,
// and its top-level blocks' headers for their context (`in stage
// "deploy"`), as hclsyntax's own navigation gives it. The syntax tree is let
// go: the steps keep their own bodies, and the blocks that held them were
// 40 MB of a 100,000-step pipeline's load.
func outline(file *hcl.File) *hcl.File {
	var nav navigation
	if body, ok := file.Body.(*hclsyntax.Body); ok {
		nav = headers(body)
	}
	return &hcl.File{Bytes: file.Bytes, Body: hcl.EmptyBody(), Nav: nav}
}

// headers are the headers of body's blocks.
func headers(body *hclsyntax.Body) navigation {
	nav := make(navigation, len(body.Blocks))
	for i, b := range body.Blocks {
		nav[i] = header{typ: b.Type, labels: b.Labels, rng: b.Range(), def: b.DefRange()}
	}
	return nav
}

// navigation gives diagnostics their context from the headers of a file's
// top-level blocks, in source order.
type navigation []header

type header struct {
	typ      string
	labels   []string
	rng, def hcl.Range
}

func (n navigation) block(offset int) *header {
	i, found := sort.Find(len(n), func(i int) int {
		switch {
		case offset < n[i].rng.Start.Byte:
			return -1
		case offset >= n[i].rng.End.Byte:
			return 1
		}
		return 0
	})
	if !found {
		return nil
	}
	return &n[i]
}

func (n navigation) ContextString(offset int) string {
	b := n.block(offset)
	if b == nil {
		return ""
	}
	s := b.typ
	for _, label := range b.labels {
		s += fmt.Sprintf(" %q", label)
	}
	return s
}

func (n navigation) ContextDefRange(offset int) hcl.Range {
	if b := n.block(offset); b != nil {
		return b.def
	}
	return hcl.Range{}
}
