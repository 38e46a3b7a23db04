// JSON: decode a 20 MB document and encode it again (compact), then sum a few fields.
// The document is 1,000 generated records repeated 50 times in one array, built as
// bench/tsk/json.tsk builds it. Decoded into interface{} values, as a program that does
// not know the document's shape would (numbers become float64); encoded without HTML
// escaping, as the other peers write.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

var tags = []string{`"alpha"`, `"beta"`, `"gamma"`, `"delta"`, `"epsilon"`}

func record(i int) string {
	history := make([]string, 12)
	for k := range history {
		history[k] = strconv.Itoa(i*7 + k*13)
	}
	active := "false"
	if i%3 == 0 {
		active = "true"
	}
	s := strconv.Itoa
	return `{"id": ` + s(i) +
		`, "name": "user ` + s(i) + `"` +
		`, "email": "user` + s(i) + `@example.com"` +
		`, "active": ` + active +
		`, "score": ` + s(i%97) + "." + s(i%89+10) +
		`, "tags": [` + strings.Join(tags[0:i%5+1], ", ") + "]" +
		`, "address": {"street": "` + s(i) + ` Main Street", "city": "Springfield", "zip": "` + s(10000+i*37) + `"}` +
		`, "history": [` + strings.Join(history, ", ") + "]" +
		`, "note": "caf\u00e9 \"quoted\"\nline two \\ backslash ` + "\u00e9t\u00e9" + `"` +
		`, "nested": {"a": {"b": {"c": [1, 2.5, {"d": null}]}}}}`
}

func main() {
	records := make([]string, 1000)
	for i := range records {
		records[i] = record(i)
	}
	block := strings.Join(records, ",\n")
	blocks := make([]string, 50)
	for i := range blocks {
		blocks[i] = block
	}
	text := "[\n" + strings.Join(blocks, ",\n") + "\n]\n"

	var doc []interface{}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		panic(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
	encoded := bytes.TrimSuffix(out.Bytes(), []byte("\n")) // Encode ends with a newline

	var ids, active, history int
	score := 0.0
	for _, item := range doc {
		r := item.(map[string]interface{})
		ids += int(r["id"].(float64))
		if r["active"].(bool) {
			active++
		}
		for _, h := range r["history"].([]interface{}) {
			history += int(h.(float64))
		}
		score += r["score"].(float64)
	}
	fmt.Println("bytes", len(text))
	fmt.Println("records", len(doc))
	fmt.Println("ids", ids)
	fmt.Println("active", active)
	fmt.Println("history", history)
	fmt.Printf("score %.3f\n", score)
	fmt.Println("encoded", len(encoded))
}
