"""Prompts for the two roles, and the answer formats they ask for.

The proposer sees K example tasks and answers with a new task:

    <statement>
    Return the sum of the even numbers in xs.
    </statement>
    <function>
    def f(xs: list[int]) -> int:
        return sum(x for x in xs if x % 2 == 0)
    </function>
    <inputs>
    st.lists(st.integers(-50, 50), max_size=20)
    </inputs>

The solver sees a statement, a signature and the public tests, and answers with

    <function>
    def f(xs: list[int]) -> int:
        ...
    </function>

Tags rather than markdown: a tiny model learns them in a few SFT steps, and instruction
models follow them from the instructions alone. `parsing.py` reads them back strictly.
"""

from __future__ import annotations

from zeroplay.curricula.task import Task
from zeroplay.sandbox.strategies import WHITELIST

PROPOSER_SYSTEM = (
    "You invent small Python programming tasks for a student. Each task is one function "
    "f with typed arguments and a deterministic result. Write a new task that differs "
    "from the examples: not too easy, not impossible. Answer in exactly this format:\n"
    "<statement>\nwhat f computes, in one paragraph\n</statement>\n"
    "<function>\nthe reference solution: one top-level def, standard library only\n"
    "</function>\n<inputs>\none Hypothesis strategy per argument, comma-separated, "
    f"using only st.{', st.'.join(sorted(WHITELIST))} with literal arguments\n</inputs>"
)
SOLVER_SYSTEM = (
    "You solve Python programming tasks. Answer with the complete function, in exactly "
    "this format:\n<function>\ndef ...\n</function>"
)


def render_proposal(statement: str, reference: str, strategy: str) -> str:
    """A task in the proposer's answer format."""
    return (f"<statement>\n{statement.strip()}\n</statement>\n<function>\n{reference.rstrip()}\n"
            f"</function>\n<inputs>\n{strategy.strip()}\n</inputs>")


def render_solution(code: str) -> str:
    """A solution in the solver's answer format."""
    return f"<function>\n{code.rstrip()}\n</function>"


def proposer_messages(references: list[Task]) -> list[dict[str, str]]:
    examples = "\n\n".join(f"Example {i}:\n{render_proposal(t.statement, t.reference, t.strategy)}"
                           for i, t in enumerate(references, start=1))
    user = (f"{examples}\n\nWrite a new task." if examples else "Write a new task.")
    return [{"role": "system", "content": PROPOSER_SYSTEM}, {"role": "user", "content": user}]


def public_examples(task: Task) -> list[str]:
    """The task's public tests as the solver sees them: `f(args) == expected`."""
    from zeroplay.sandbox.codec import from_tagged

    return [f"{task.entry_point}({', '.join(repr(from_tagged(a)) for a in test.args)}) == "
            f"{from_tagged(test.expected)!r}" for test in task.public_tests]


def solver_messages(task: Task) -> list[dict[str, str]]:
    """Signature, examples, then the statement, last, next to the answer: the constants the
    answer copies from it are then the nearest numbers before the answer. Measured on the
    tiny model (docs/results.md, 2026-12-03), this order doubled validation pass@1 over statement
    first."""
    examples = "\n".join(public_examples(task)) or "(none)"
    user = f"Signature: {task.signature}\n\nExamples:\n{examples}\n\n{task.statement.strip()}"
    return [{"role": "system", "content": SOLVER_SYSTEM}, {"role": "user", "content": user}]


def prompt_text(tokenizer, messages: list[dict[str, str]]) -> str:
    """The text the model continues: the tokenizer's chat template, generation prompt on."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_tokens(tokenizer, messages: list[dict[str, str]]) -> int:
    """Tokens of that text as generation encodes it (what rollout.max_prompt_tokens bounds)."""
    return len(tokenizer(prompt_text(tokenizer, messages), add_special_tokens=False)["input_ids"])


def proposer_prompt_text_samples() -> list[str]:
    """The fixed instruction texts, for training the tiny tokenizer."""
    return [PROPOSER_SYSTEM, SOLVER_SYSTEM, "Write a new task.", "Write the function.",
            "Signature:", "Examples:", "Example 1:"]
