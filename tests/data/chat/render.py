#!/usr/bin/python3
"""Render test conversations with the models' real Jinja chat templates.

The output, rendered.json, is the reference that tests/test_chat.c compares our
native C renderer against, byte for byte. Run only to regenerate it:

    apt-get install -y python3-jinja2
    /usr/bin/python3 tests/data/chat/render.py

The Jinja environment is set up as Hugging Face transformers sets it up for
apply_chat_template (trim_blocks, lstrip_blocks, loopcontrols, a tojson filter
that keeps non-ASCII characters), so the text is what the model saw in training.

Templates (*.jinja here):
  deepseek-v3                 tokenizer_config.json of DeepSeek-V3 (fixture)
  deepseek-r1-distill-qwen    DeepSeek-R1-Distill-Qwen-32B (fixture)
  deepseek-r1-distill-llama   DeepSeek-R1-Distill-Llama-8B (fixture; also DeepSeek-R1's format)
  deepseek-v3.1 / -v3.2 / -v4 the published templates (fixtures)
  deepseek-v2                 DeepSeek-V2-Chat / V2-Lite-Chat (published tokenizer_config.json)
  deepseek-v2-0628            DeepSeek-V2-Chat-0628 (published tokenizer_config.json)
  llama3                      Llama 3.1 (fixture tokenizer_config.json of the llama3 tokenizer)
"""
import json
import os

import jinja2
import jinja2.ext
import jinja2.sandbox

HERE = os.path.dirname(os.path.abspath(__file__))
DS_BOS, DS_EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"

# name -> (bos, eos, the format our detector must report). The DeepSeek
# distills' own tokenizer_config.json files use DeepSeek's bos/eos strings.
TEMPLATES = {
    "deepseek-v3": (DS_BOS, DS_EOS, "deepseek-v3"),
    "deepseek-r1-distill-qwen": (DS_BOS, DS_EOS, "deepseek-r1"),
    "deepseek-r1-distill-llama": (DS_BOS, DS_EOS, "deepseek-r1"),
    "deepseek-v3.1": (DS_BOS, DS_EOS, "deepseek-v3.1"),
    "deepseek-v3.2": (DS_BOS, DS_EOS, "deepseek-v3.2"),
    "deepseek-v4": (DS_BOS, DS_EOS, "deepseek-v4"),
    "deepseek-v2": (DS_BOS, DS_EOS, "deepseek-v2"),
    "deepseek-v2-0628": (DS_BOS, DS_EOS, "deepseek-v2-0628"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>", "llama3"),
}

S, U, A = "system", "user", "assistant"
CONVERSATIONS = [
    [(U, "Hello!")],
    [(S, "You are a helpful assistant."), (U, "What is 2+2?")],
    [(S, "Be brief."), (U, "Hi"),
     (A, "<think>\nThe user greets me.\n</think>\n\nHello! How can I help?"),
     (U, "Name a prime."), (A, "7"), (U, "Another one?")],
    [(U, "Why is the sky blue?"),
     {"role": A, "content": "Rayleigh scattering.", "reasoning_content": "Short wavelengths scatter more."},
     (U, "And sunsets?")],
    [(S, "你是一个有帮助的助手。"), (U, "你好 🌍 ¿qué tal? naïve"),
     (A, "<think>思考一下</think>答案 ✓"), (U, "再见 👋")],
    [(U, "Say hi."), (A, "Hi.")],
    [(S, "Rule one."), (S, "Rule two."), (U, "First part."), (U, "Second part.")],
    [(U, "q"), (A, "<think>a</think>b</think>c"), (U, "again")],
    [(S, ""), (U, "")],
    [(U, "  spaced  \n"), (A, " \tpadded answer\n\n"), (U, "x")],
]


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)


def environment():
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.filters["from_json"] = json.loads
    env.globals["raise_exception"] = raise_exception
    return env


def as_messages(conv):
    out = []
    for m in conv:
        if isinstance(m, dict):
            out.append(dict(m))
        else:
            out.append({"role": m[0], "content": m[1]})
    return out


def main():
    env = environment()
    cases = []
    for name, (bos, eos, fmt) in TEMPLATES.items():
        with open(os.path.join(HERE, name + ".jinja"), encoding="utf-8") as f:
            src = f.read()
        tmpl = env.from_string(src)
        # thinking: -1 = variable not passed (the template's default), 0 / 1 passed
        thinking_modes = [-1, 0, 1] if "thinking" in src else [-1]
        for ci, conv in enumerate(CONVERSATIONS):
            for agp in (False, True):
                for th in thinking_modes:
                    kw = {"messages": as_messages(conv), "bos_token": bos, "eos_token": eos,
                          "add_generation_prompt": agp}
                    if th >= 0:
                        kw["thinking"] = bool(th)
                        kw["enable_thinking"] = bool(th)
                    text = tmpl.render(**kw)
                    cases.append({"template": name, "conversation": ci,
                                  "add_generation_prompt": agp, "thinking": th, "text": text})
    out = {
        "generated_by": "tests/data/chat/render.py with Jinja2 " + jinja2.__version__,
        "templates": {n: {"file": n + ".jinja", "bos": b, "eos": e, "format": f}
                      for n, (b, e, f) in TEMPLATES.items()},
        "conversations": [as_messages(c) for c in CONVERSATIONS],
        "cases": cases,
    }
    with open(os.path.join(HERE, "rendered.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(cases)} renderings written to rendered.json")


if __name__ == "__main__":
    main()
