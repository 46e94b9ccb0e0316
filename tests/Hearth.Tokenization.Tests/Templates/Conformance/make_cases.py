"""Regenerates jinja-cases.json: each case rendered by the real Jinja2 in the environment transformers uses
for chat templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its tojson
override and its raise_exception and strftime_now globals). Run: python3 make_cases.py (needs jinja2)."""
import json
from datetime import datetime
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from cases import CASES


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)

out = []
names = set()
for name, template, variables in CASES:
    assert name not in names, name
    names.add(name)
    case = {"name": name, "template": template, "vars": variables}
    try:
        case["expected"] = env.from_string(template).render(**json.loads(variables))
    except Exception as e:  # noqa: BLE001 - any Jinja failure means ours must fail too
        case["error"] = type(e).__name__ + ": " + str(e)
    out.append(case)

with open("jinja-cases.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
print(len(out), "cases,", sum("error" in c for c in out), "errors")
