#!/usr/bin/env python3
"""eval_arith.py - held-out accuracy of a model on gen_arith.py's test problems, via `seek run`.

  python3 scripts/eval_arith.py -m models/default.gguf -t models/default/data/test.jsonl [--seek ./seek] [-n 200]

Each question is asked with `seek run -m MODEL -p QUESTION --temp 0 --json` (greedy, the
model's chat template); the prediction is the last integer of the answer (the text after
</think>). Prints the accuracy, how many answers showed working inside <think>, and a few
samples. Exit status 0.
"""
import argparse, json, re, subprocess, sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("-t", "--test", required=True)
    ap.add_argument("--seek", default="./seek")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--samples", type=int, default=3)
    args = ap.parse_args()
    probs = [json.loads(l) for l in open(args.test)][: args.n]
    right = thought = 0
    shown = []
    for p in probs:
        r = subprocess.run([args.seek, "run", "-m", args.model, "-p", p["question"], "--temp", "0", "-n", "200",
                            "--json", "-t", "1"], capture_output=True, text=True)
        try:
            j = json.loads(r.stdout)
        except Exception:
            print(f"seek failed on {p['question']!r}: {r.stderr.strip()[:200]}", file=sys.stderr)
            continue
        content, reasoning = j.get("content") or "", j.get("reasoning") or ""
        nums = re.findall(r"-?\d+", content)
        pred = int(nums[-1]) if nums else None
        ok = pred == p["answer"]
        right += ok
        thought += bool(reasoning.strip())
        if len(shown) < args.samples:
            shown.append((p["question"], reasoning, content, ok))
    n = len(probs)
    print(f"accuracy: {right}/{n} = {100.0 * right / n:.1f}%  (answers with reasoning: {thought}/{n})")
    for q, rs, c, ok in shown:
        print(f"\n--- {q}  [{'right' if ok else 'wrong'}]\n<think>\n{rs.strip()}\n</think>\n\n{c.strip()}")


if __name__ == "__main__":
    main()
