#!/usr/bin/env python3
"""gen_arith.py - synthetic training data for seek's default model (R1 chat format).

  python3 scripts/gen_arith.py --out DIR [--n 30000] [--seed 1] [--test 200]

Writes DIR/train.txt (documents, each a whole chat turn as DeepSeek-R1's template renders it:
<｜begin▁of▁sentence｜><｜User｜>QUESTION<｜Assistant｜><think>\\nWORKING\\n</think>\\n\\nANSWER<｜end▁of▁sentence｜>)
and DIR/test.jsonl (held-out problems: {"question", "answer"}; never in train.txt).

Problems: additions and subtractions of numbers 0..999 asked in plain English; the
working is column by column (ones, tens, hundreds) with carries or borrows; a larger
subtrahend is handled by swapping and negating. About 4 % of documents are short
conversations (text written for seek, same licence as the repository).
Standard library only; the output is a pure function of --seed.
"""
import argparse, json, os, random

BOS, EOS, USER, ASSIST = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"

ADD_Q = ["What is {a} + {b}?", "What is {a} plus {b}?", "Compute {a} + {b}.", "Add {a} and {b}.",
         "How much is {a} plus {b}?", "Calculate {a} + {b}.", "What do you get when you add {a} and {b}?",
         "Please work out {a} + {b}.", "what is {a}+{b}", "Find the sum of {a} and {b}."]
SUB_Q = ["What is {a} - {b}?", "What is {a} minus {b}?", "Compute {a} - {b}.", "Subtract {b} from {a}.",
         "How much is {a} minus {b}?", "Calculate {a} - {b}.", "What do you get when you subtract {b} from {a}?",
         "Please work out {a} - {b}.", "what is {a}-{b}", "Find the difference {a} - {b}."]
COLS = ["ones", "tens", "hundreds"]


def add_working(a, b):
    x, y = f"{a:03d}", f"{b:03d}"
    lines = [f"{x} + {y}"]
    carry, digits = 0, []
    for i in range(3):
        p, q = int(x[2 - i]), int(y[2 - i])
        s = p + q + carry
        lines.append(f"{COLS[i]}: {p} + {q} + {carry} = {s}, write {s % 10}, carry {s // 10}")
        digits.append(s % 10)
        carry = s // 10
    if carry:
        lines.append(f"thousands: write {carry}")
        digits.append(carry)
    lines.append("result: " + "".join(str(d) for d in reversed(digits)))
    return lines


def sub_working(a, b):
    lines = []
    if a < b:
        lines.append(f"{b} is larger than {a}, so compute {b} - {a} and make it negative")
        a, b, neg = b, a, True
    else:
        neg = False
    x, y = f"{a:03d}", f"{b:03d}"
    lines.append(f"{x} - {y}")
    borrow, digits = 0, []
    for i in range(3):
        p, q = int(x[2 - i]), int(y[2 - i])
        if p - q - borrow >= 0:
            d = p - q - borrow
            lines.append(f"{COLS[i]}: {p} - {q} - {borrow} = {d}, write {d}, borrow 0")
            borrow = 0
        else:
            d = p + 10 - q - borrow
            lines.append(f"{COLS[i]}: {p + 10} - {q} - {borrow} = {d}, write {d}, borrow 1")
            borrow = 1
        digits.append(d)
    r = "".join(str(d) for d in reversed(digits))
    lines.append("result: " + ("-" if neg else "") + r)
    return lines


def problem(rng, a, b, op):
    if op == "+":
        q = rng.choice(ADD_Q).format(a=a, b=b)
        work, ans = add_working(a, b), a + b
    else:
        q = rng.choice(SUB_Q).format(a=a, b=b)
        work, ans = sub_working(a, b), a - b
    sign = "+" if op == "+" else "-"
    reply = rng.choice(["{a} {s} {b} = {r}.", "The answer is {r}.", "{a} {s} {b} = {r}"]).format(a=a, b=b, s=sign, r=ans)
    return q, "\n".join(work), reply, ans


CHAT = [
    ("Hello!", "The user greets me. I should greet back and say what I can do.", "Hello! I am seek's small default model. I can add and subtract numbers up to 999."),
    ("Hi", "A greeting. Reply briefly.", "Hi! Ask me an addition or a subtraction, like 347 + 589."),
    ("Who are you?", "The user asks who I am.", "I am a tiny DeepSeek-style model (MLA attention, mixture of experts, multi-token prediction) trained from scratch by seek, a C program."),
    ("What can you do?", "The user asks about my abilities. I am small: arithmetic only.", "I can add and subtract whole numbers from 0 to 999 and show my working step by step."),
    ("Thank you!", "The user thanks me.", "You are welcome!"),
    ("thanks", "The user thanks me.", "Glad to help."),
    ("How are you?", "A friendly question. I am a program, but I can answer politely.", "I am fine, thank you. Do you have a sum for me?"),
    ("What is your name?", "The user asks my name.", "I am the default model of seek."),
    ("Can you multiply?", "I was trained only on addition and subtraction.", "Not well. I was trained on addition and subtraction of numbers up to 999."),
    ("Tell me a joke.", "The user wants a joke. A short arithmetic joke fits.", "Why was six afraid of seven? Because seven ate nine."),
    ("Goodbye", "The user is leaving.", "Goodbye!"),
    ("Who made you?", "The user asks who trained me.", "I was trained by seek, a small C program that runs and trains DeepSeek-architecture models."),
    ("What is seek?", "The user asks about seek.", "seek is DeepSeek in C: one small program that runs, chats with, serves and trains DeepSeek-family models."),
    ("Are you DeepSeek?", "I share DeepSeek-V3's architecture but I am tiny.", "I use DeepSeek-V3's architecture, but I am a very small model trained by seek, not DeepSeek itself."),
    ("Help", "The user needs help using me.", "Ask me something like: What is 123 + 456? or What is 700 - 85?"),
]


def doc(q, think, reply):
    return f"{BOS}{USER}{q}{ASSIST}<think>\n{think}\n</think>\n\n{reply}{EOS}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    def draw():
        # mostly 3-digit operands, some shorter ones
        def num():
            r = rng.random()
            return rng.randint(100, 999) if r < 0.8 else rng.randint(10, 99) if r < 0.95 else rng.randint(0, 9)
        return num(), num(), rng.choice("+-")

    test, seen = [], set()
    while len(test) < args.test:
        a, b, op = draw()
        if a < 100 or b < 100 or (a, b, op) in seen:
            continue  # held-out problems: both operands have 3 digits
        seen.add((a, b, op))
        q, _, _, ans = problem(rng, a, b, op)
        test.append({"question": q, "answer": ans, "a": a, "b": b, "op": op})
    with open(os.path.join(args.out, "test.jsonl"), "w") as f:
        for t in test:
            f.write(json.dumps(t) + "\n")

    docs = []
    while len(docs) < args.n:
        if rng.random() < 0.04:
            docs.append(doc(*rng.choice(CHAT)))
            continue
        a, b, op = draw()
        if (a, b, op) in seen:
            continue
        q, think, reply, _ = problem(rng, a, b, op)
        docs.append(doc(q, think, reply))
    with open(os.path.join(args.out, "train.txt"), "w") as f:
        f.write("".join(docs))
    print(f"{args.out}/train.txt: {len(docs)} documents; {args.out}/test.jsonl: {len(test)} problems")


if __name__ == "__main__":
    main()
