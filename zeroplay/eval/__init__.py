"""Evaluation: pass@k on held-out benchmarks, the contamination guard, reward fidelity.

Real benchmarks (HumanEval) are read here for evaluation only, never for training; their
code, like every model-written program, runs only in the sandbox. Heavy imports (torch,
ray) stay inside the functions that need them.
"""
