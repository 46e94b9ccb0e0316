#!/usr/bin/env python3
"""Checks a running `hearth serve` against every parrot case over HTTP: OpenAI chat (whole and streamed) and
Ollama chat must give each case's expected content, reasoning, tool calls and finish reason. Standard library only,
so it runs on the GPU machine as is. Usage: parrot_server_check.py BASE_URL CASES_JSON MODEL_NAME"""
import json
import sys
import urllib.request


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.read().decode()


def chat_body(case, model, stream):
    r = case["request"]
    body = {"model": model, "messages": r["messages"], "temperature": 0, "max_tokens": 512, "stream": stream}
    if r.get("tools"):
        body["tools"] = r["tools"]
    if r.get("enable_thinking") is not None:
        body["chat_template_kwargs"] = {"enable_thinking": r["enable_thinking"]}
    return body


def compare(case, reasoning, content, calls, finish):
    e = case["expected"]
    problems = []
    if (reasoning or "") != (e["reasoning_content"] or ""):
        problems.append(f"reasoning {reasoning!r} != {e['reasoning_content']!r}")
    if (content or None) != e["content"]:
        problems.append(f"content {content!r} != {e['content']!r}")
    want = [(c["name"], c["arguments"]) for c in e["tool_calls"]]
    if calls != want:
        problems.append(f"tool calls {calls} != {want}")
    if finish != e["finish_reason"]:
        problems.append(f"finish {finish} != {e['finish_reason']}")
    return problems


def openai_whole(base, case, model):
    choice = json.loads(post(base, "/v1/chat/completions", chat_body(case, model, False)))["choices"][0]
    m = choice["message"]
    calls = [(t["function"]["name"], json.loads(t["function"]["arguments"])) for t in m.get("tool_calls") or []]
    return compare(case, m.get("reasoning_content"), m.get("content"), calls, choice["finish_reason"])


def openai_stream(base, case, model):
    reasoning, content, finish, calls = "", "", None, {}
    for line in post(base, "/v1/chat/completions", chat_body(case, model, True)).splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        choice = json.loads(line[6:])["choices"][0]
        d = choice["delta"]
        reasoning += d.get("reasoning_content") or ""
        content += d.get("content") or ""
        for t in d.get("tool_calls") or []:
            entry = calls.setdefault(t["index"], ["", ""])
            entry[0] += t.get("function", {}).get("name") or ""
            entry[1] += t.get("function", {}).get("arguments") or ""
        finish = choice.get("finish_reason") or finish
    parsed = [(n, json.loads(a)) for _, (n, a) in sorted(calls.items())]
    return compare(case, reasoning, content or None, parsed, finish)


def ollama(base, case, model):
    r = case["request"]
    messages = json.loads(json.dumps(r["messages"]))
    for m in messages:
        for t in m.get("tool_calls") or []:
            if isinstance(t["function"]["arguments"], str):
                t["function"]["arguments"] = json.loads(t["function"]["arguments"])
    body = {"model": model, "messages": messages, "stream": False, "options": {"temperature": 0, "num_predict": 512}}
    if r.get("tools"):
        body["tools"] = r["tools"]
    if r.get("enable_thinking") is not None:
        body["think"] = r["enable_thinking"]
    j = json.loads(post(base, "/api/chat", body))
    m = j["message"]
    calls = [(t["function"]["name"], t["function"]["arguments"]) for t in m.get("tool_calls") or []]
    finish = "tool_calls" if calls and j["done_reason"] == "stop" else j["done_reason"]
    return compare(case, m.get("thinking"), m.get("content") or None, calls, finish)


def main():
    base, cases_path, model = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    cases = json.load(open(cases_path))
    passed = failed = 0
    for case in cases:
        for name, check in (("openai", openai_whole), ("openai-stream", openai_stream), ("ollama", ollama)):
            problems = check(base, case, model)
            if problems:
                failed += 1
                print(f"FAIL {case['id']} {name}: {'; '.join(problems)}")
            else:
                passed += 1
                print(f"ok   {case['id']} {name}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
