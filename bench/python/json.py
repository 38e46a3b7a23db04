# JSON: decode a 20 MB document and encode it again (compact), then sum a few fields.
# The document is 1,000 generated records repeated 50 times in one array, built as
# bench/tsk/json.tsk builds it.
import sys

del sys.path[0]  # this file is json.py: import the standard library's json, not itself
import json  # noqa: E402

tags = ['"alpha"', '"beta"', '"gamma"', '"delta"', '"epsilon"']


def record(i):
    history = [str(i * 7 + k * 13) for k in range(12)]
    active = "true" if i % 3 == 0 else "false"
    return ('{"id": ' + str(i) +
            ', "name": "user ' + str(i) + '"' +
            ', "email": "user' + str(i) + '@example.com"' +
            ', "active": ' + active +
            ', "score": ' + str(i % 97) + "." + str(i % 89 + 10) +
            ', "tags": [' + ", ".join(tags[0:i % 5 + 1]) + "]" +
            ', "address": {"street": "' + str(i) + ' Main Street", "city": "Springfield", "zip": "' + str(10000 + i * 37) + '"}' +
            ', "history": [' + ", ".join(history) + "]" +
            ', "note": "caf\\u00e9 \\"quoted\\"\\nline two \\\\ backslash \u00e9t\u00e9"' +
            ', "nested": {"a": {"b": {"c": [1, 2.5, {"d": null}]}}}}')


block = ",\n".join(record(i) for i in range(1000))
text = "[\n" + ",\n".join([block] * 50) + "\n]\n"

doc = json.loads(text)
encoded = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

ids = active = history = 0
score = 0.0
for r in doc:
    ids += r["id"]
    if r["active"]:
        active += 1
    for h in r["history"]:
        history += h
    score += r["score"]
print("bytes", len(text.encode()))
print("records", len(doc))
print("ids", ids)
print("active", active)
print("history", history)
print("score", "%.3f" % score)
print("encoded", len(encoded.encode()))
