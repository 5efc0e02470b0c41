package spreedly

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// A response is built once as a tree of nodes and rendered to JSON or to
// XML, so that the two formats of one endpoint cannot drift apart.
//
// The rendering rules:
//
//   - an object is a JSON object and an XML element holding its children;
//   - an array is a JSON array of its children's values and an XML element
//     holding one element per child, named by the child;
//   - flags (a gateway's characteristics) is a JSON array of the names of
//     its true children less the "supports_" prefix, and in XML an element
//     holding every child as a boolean element;
//   - a scalar is a JSON value and an XML element with Rails' type="integer|
//     boolean|datetime" attribute; a null is JSON null and <name nil="true"/>;
//   - a scalar's attributes (XML <message key="…">) become, in a JSON object,
//     members "name_attr" written before "name"; in a JSON array the scalar
//     becomes an object of its attributes plus "message" (an <error>).
type node struct {
	name     string
	kind     kind
	s        string
	i        int64
	b        bool
	t        time.Time
	attrs    []attr
	children []*node
}

type attr struct{ name, value string }

type kind uint8

const (
	kString kind = iota
	kInt
	kBool
	kTime
	kNil
	kObject
	kArray
	kFlags
)

func str(name, v string) *node { return &node{name: name, kind: kString, s: v} }

// strOrNil is a string that is null when empty, as Spreedly shows fields
// never set.
func strOrNil(name, v string) *node {
	if v == "" {
		return null(name)
	}
	return str(name, v)
}

func integer(name string, v int64) *node { return &node{name: name, kind: kInt, i: v} }
func boolean(name string, v bool) *node  { return &node{name: name, kind: kBool, b: v} }
func null(name string) *node             { return &node{name: name, kind: kNil} }

func datetime(name string, t time.Time) *node {
	if t.IsZero() {
		return null(name)
	}
	return &node{name: name, kind: kTime, t: t}
}

func object(name string, children ...*node) *node {
	return &node{name: name, kind: kObject, children: children}
}

func array(name string, children ...*node) *node {
	return &node{name: name, kind: kArray, children: children}
}

func flags(name string, children ...*node) *node {
	return &node{name: name, kind: kFlags, children: children}
}

// withAttr returns n with an XML attribute; an empty value leaves it out of
// the XML and makes it null in JSON.
func (n *node) withAttr(name, value string) *node {
	n.attrs = append(n.attrs, attr{name, value})
	return n
}

// add appends children to an object or array.
func (n *node) add(children ...*node) *node {
	n.children = append(n.children, children...)
	return n
}

const timeLayout = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// renderJSON renders root as {"root name": value}.
func renderJSON(root *node) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	writeJSONString(&b, root.name)
	b.WriteByte(':')
	writeJSONValue(&b, root, false)
	b.WriteString("}\n")
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

// writeJSONValue writes n's value; inArray says n is an element of an array.
func writeJSONValue(b *bytes.Buffer, n *node, inArray bool) {
	if inArray && len(n.attrs) > 0 && n.kind <= kNil {
		b.WriteByte('{')
		for _, a := range n.attrs {
			writeJSONString(b, a.name)
			b.WriteByte(':')
			writeJSONString(b, a.value)
			b.WriteByte(',')
		}
		b.WriteString(`"message":`)
		writeJSONScalar(b, n)
		b.WriteByte('}')
		return
	}
	switch n.kind {
	case kObject:
		b.WriteByte('{')
		first := true
		for _, c := range n.children {
			for _, a := range c.attrs {
				if !first {
					b.WriteByte(',')
				}
				first = false
				writeJSONString(b, c.name+"_"+a.name)
				b.WriteByte(':')
				if a.value == "" {
					b.WriteString("null")
				} else {
					writeJSONString(b, a.value)
				}
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, c.name)
			b.WriteByte(':')
			writeJSONValue(b, c, false)
		}
		b.WriteByte('}')
	case kArray:
		b.WriteByte('[')
		for i, c := range n.children {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONValue(b, c, true)
		}
		b.WriteByte(']')
	case kFlags:
		b.WriteByte('[')
		i := 0
		for _, c := range n.children {
			if c.kind == kBool && c.b {
				if i > 0 {
					b.WriteByte(',')
				}
				writeJSONString(b, strings.TrimPrefix(c.name, "supports_"))
				i++
			}
		}
		b.WriteByte(']')
	default:
		writeJSONScalar(b, n)
	}
}

func writeJSONScalar(b *bytes.Buffer, n *node) {
	switch n.kind {
	case kString:
		writeJSONString(b, n.s)
	case kInt:
		b.WriteString(strconv.FormatInt(n.i, 10))
	case kBool:
		b.WriteString(strconv.FormatBool(n.b))
	case kTime:
		writeJSONString(b, formatTime(n.t))
	default:
		b.WriteString("null")
	}
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// renderXML renders root as an XML document.
func renderXML(root *node) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	writeXML(&b, root, 0)
	return b.Bytes()
}

func writeXML(b *bytes.Buffer, n *node, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent)
	b.WriteByte('<')
	b.WriteString(n.name)
	for _, a := range n.attrs {
		if a.value == "" {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(a.name)
		b.WriteString(`="`)
		xmlEscape(b, a.value)
		b.WriteByte('"')
	}
	switch n.kind {
	case kObject, kArray, kFlags:
		if len(n.children) == 0 {
			b.WriteString("/>\n")
			return
		}
		b.WriteString(">\n")
		for _, c := range n.children {
			writeXML(b, c, depth+1)
		}
		b.WriteString(indent)
	case kNil:
		b.WriteString(" nil=\"true\"/>\n")
		return
	case kString:
		b.WriteByte('>')
		xmlEscape(b, n.s)
	case kInt:
		b.WriteString(` type="integer">`)
		b.WriteString(strconv.FormatInt(n.i, 10))
	case kBool:
		b.WriteString(` type="boolean">`)
		b.WriteString(strconv.FormatBool(n.b))
	case kTime:
		b.WriteString(` type="datetime">`)
		b.WriteString(formatTime(n.t))
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteString(">\n")
}

// xmlEscape writes s as XML character data or an attribute value: &, <, >
// and " escaped (' left as it is, as Rails writes it), and characters XML
// cannot hold replaced by U+FFFD.
func xmlEscape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF && (r < 0xD800 || r > 0xDFFF):
			b.WriteRune(r)
		default:
			b.WriteRune('\uFFFD')
		}
	}
}
